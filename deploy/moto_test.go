package deploy

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/logarchive/logarchive/internal/motoserver"
)

// TestStacksOnMoto deploys queue.yaml (EventBridge mode), lake.yaml, worker.yaml with KMS off and on,
// and alarms.yaml to moto_server's CloudFormation, and runs queue.yaml's notification handler code
// against moto's S3 through create, update, CloudFormation's delete of the replaced id, and stack
// delete. The assertions live in testdata/moto_stacks.py (boto3 comes with moto).
func TestStacksOnMoto(t *testing.T) {
	py := requireTool(t, "python3")
	srv := motoserver.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/moto_stacks.py", srv.URL, ".")
	// motoserver.Start blanks AWS_PROFILE and friends, which boto3 reads as a profile named "".
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("moto_stacks.py: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"passed": `) {
		t.Fatalf("moto_stacks.py ran no checks:\n%s", out)
	}
	t.Logf("%s", out)
}
