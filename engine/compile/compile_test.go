package compile

import (
	"os"
	"testing"
)

func TestCompileValid(t *testing.T) {
	c := fakeCompiler(t)
	data, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, ds := c.File("valid.yaml", data)
	if ds.HasErrors() {
		t.Fatalf("unexpected diagnostics:\n%s", ds.Err())
	}
	backup, ok := p.Action("backup")
	if !ok {
		t.Fatal("no backup action")
	}
	if got := len(backup.Phases); got != 4 {
		t.Errorf("phases = %d, want 4", got)
	}
}
