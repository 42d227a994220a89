//go:build !linux

package motoserver

import "syscall"

// procAttr puts the server in its own process group, so stopping it stops anything a wrapper
// script started.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
