package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTourWithoutTerminalPrintsNarration(t *testing.T) {
	code, stdout, stderr := runCLI(t, "tour", "--pace", "0")
	if code != 0 {
		t.Fatalf("exit status %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if !strings.Contains(lines[0], "no terminal") {
		t.Errorf("first line %q does not say why there is no screen", lines[0])
	}
	for _, stage := range []string{"1/8 the forward pass: ", "3/8 where dZ comes from: ", "8/8 the update: "} {
		if !strings.Contains(stdout, stage) {
			t.Errorf("the narration lacks %q:\n%s", stage, stdout)
		}
	}
}

func TestKeyFlagErrors(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(script, []byte("n n\n# next line is wrong\nescape\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--keys", "n n bogus"}, `--keys: line 1: unknown key "bogus"`},
		{[]string{"tour", "--keys", "sleep fast"}, `--keys: line 1: sleep "fast"`},
		{[]string{"--keys", script}, script + `: line 3: unknown key "escape"`},
		{[]string{"--key-delay", "-5ms", "--keys", "n"}, "--key-delay -5ms"},
		{[]string{"--exit-after-keys"}, "--exit-after-keys needs --keys"},
		{[]string{"tour", "--pace", "-1"}, "--pace -1"},
		{[]string{"tour", "--pace", "NaN"}, "--pace NaN"},
		{[]string{"tour", "--pace", "soon"}, `--pace takes a number such as 3, not "soon"`},
		{[]string{"tour", "extra"}, "tour takes no arguments"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			checkBadInput(t, code, stderr, c.want)
		})
	}
}

func TestViewTakesKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "step.cnndbg")
	if code, _, stderr := runCLI(t, "record", "-o", path); code != 0 {
		t.Fatalf("record: exit status %d, %s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "view", path, "--keys", "n n enter", "--exit-after-keys")
	if code != 0 {
		t.Fatalf("view --keys: exit status %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "no terminal") {
		t.Errorf("view without a terminal printed no summary:\n%s", stdout)
	}
	code, _, stderr = runCLI(t, "view", path, "--keys", "n nope")
	if code != 2 || !strings.Contains(stderr, `unknown key "nope"`) {
		t.Errorf("view with a bad key: exit status %d, stderr %q", code, stderr)
	}
}
