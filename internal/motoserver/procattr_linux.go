package motoserver

import "syscall"

// procAttr puts the server in its own process group (so stopping it stops anything a wrapper
// script started) and asks the kernel to kill it if the test binary dies without running its
// cleanups (a timeout panic, a kill): otherwise the server would outlive the test as an orphan.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
