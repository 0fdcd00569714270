package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

func TestParseKeyScriptKeyNames(t *testing.T) {
	// Each name must come back from the parsed key press's String, which
	// is what key.Matches compares with the KeyMap.
	names := []string{"n", "G", "?", ":", "[", "}", "/", "1", "enter", "esc", "tab", "shift+tab", "space",
		"backspace", "up", "down", "left", "right", "home", "end", "pgup", "pgdown", "f1", "f12",
		"ctrl+c", "ctrl+w", "ctrl+u", "alt+x", "ctrl+alt+x"}
	script, err := ParseKeyScript(strings.Join(names, " "))
	if err != nil {
		t.Fatal(err)
	}
	if len(script.Steps) != len(names) {
		t.Fatalf("parsed %d steps from %d names", len(script.Steps), len(names))
	}
	for k, step := range script.Steps {
		if got := step.Key.String(); got != names[k] {
			t.Errorf("key %q parses to a press whose String is %q", names[k], got)
		}
		if step.Token != names[k] || step.Sleep != 0 {
			t.Errorf("key %q: step %+v", names[k], step)
		}
	}
}

func TestParseKeyScriptMatchesKeyMap(t *testing.T) {
	keys := DefaultKeyMap()
	script, err := ParseKeyScript("space shift+tab ctrl+c W")
	if err != nil {
		t.Fatal(err)
	}
	if got := script.Steps[0].Key.Text; got != " " {
		t.Errorf("space has text %q, want a blank", got)
	}
	checks := []struct {
		step    int
		binding string
		matches bool
	}{
		{1, "previous tensor", keyMatches(script.Steps[1].Key, keys.Tensor.PrevTensor.Keys())},
		{2, "quit", keyMatches(script.Steps[2].Key, keys.Global.Quit.Keys())},
		{3, "previous pane", keyMatches(script.Steps[3].Key, keys.Global.FocusPrev.Keys())},
	}
	for _, c := range checks {
		if !c.matches {
			t.Errorf("%s does not match the %s binding", script.Steps[c.step].Token, c.binding)
		}
	}
}

func keyMatches(k tea.KeyPressMsg, names []string) bool {
	for _, n := range names {
		if k.String() == n {
			return true
		}
	}
	return false
}

func TestParseKeyScriptSleepsAndComments(t *testing.T) {
	script, err := ParseKeyScript("# open conv1 backward\n  # indented comment\n: 1 7 enter\nsleep 1.5s tab\n\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(script.Keys(), " "); got != ": 1 7 enter tab" {
		t.Errorf("keys %q", got)
	}
	if len(script.Steps) != 6 {
		t.Fatalf("%d steps, want 6", len(script.Steps))
	}
	if s := script.Steps[4]; s.Sleep != 1500*time.Millisecond || s.Token != "sleep 1.5s" {
		t.Errorf("sleep step %+v", s)
	}
}

func TestParseKeyScriptErrors(t *testing.T) {
	cases := []struct{ script, want string }{
		{"n escape", `line 1: unknown key "escape"`},
		{"n\nn nn", `line 2: unknown key "nn"`},
		{"ctrl+", `unknown key "ctrl+"`},
		{"ctrl+ctrl+c", `unknown key "ctrl+ctrl+c"`},
		{"shift+", `unknown key "shift+"`},
		{"n sleep", "line 1: sleep needs a duration"},
		{"sleep\n500ms", "line 1: sleep needs a duration"},
		{"sleep soon", `line 1: sleep "soon": want a positive duration`},
		{"sleep -1s", `sleep "-1s": want a positive duration`},
		{"sleep 0s", `sleep "0s": want a positive duration`},
	}
	for _, c := range cases {
		_, err := ParseKeyScript(c.script)
		if err == nil {
			t.Errorf("%q: no error, want %q", c.script, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %q, want it to contain %q", c.script, err, c.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error spans several lines: %q", c.script, err)
		}
	}
}

func TestLoadKeyScriptFileOrText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(path, []byte("# a recording\nn n\nenter\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile, err := LoadKeyScript(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(fromFile.Keys(), " "); got != "n n enter" {
		t.Errorf("keys from the file: %q", got)
	}

	inline, err := LoadKeyScript("n n enter")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(inline.Keys(), " "); got != "n n enter" {
		t.Errorf("keys from the text: %q", got)
	}

	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("n\nescape\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadKeyScript(bad)
	if err == nil || !strings.Contains(err.Error(), bad+": line 2: unknown key \"escape\"") {
		t.Errorf("bad file: error %v, want the file, line and key named", err)
	}
}

// replayScript is a walk through the debugger that starts explanations,
// types ahead of them, drills in, follows u twice and opens the help.
const replayScript = `
: 1 7 enter
tab enter j j
u u
sleep 1ms
? esc w tab shift+tab
]  } l l j
enter pgdown
`

func TestKeyScriptReplayIsDeterministic(t *testing.T) {
	script, err := ParseKeyScript(replayScript)
	if err != nil {
		t.Fatal(err)
	}
	replay := func() string {
		d := newDriver(t, example(t), Options{}, 100, 30)
		for _, step := range script.Steps {
			if step.Sleep == 0 {
				d.send(step.Key)
			}
		}
		return d.m.View().Content
	}

	first, second := replay(), replay()
	if first != second {
		t.Errorf("two replays of one script end on different screens:\n%s\nand:\n%s", ansi.Strip(first), ansi.Strip(second))
	}
	if want := "event 16/20 relu1 relu backward"; !strings.Contains(ansi.Strip(first), want) {
		t.Errorf("the replay did not reach %q:\n%s", want, ansi.Strip(first))
	}
}

func TestReplayerMatchesDirectKeys(t *testing.T) {
	script, err := ParseKeyScript(replayScript)
	if err != nil {
		t.Fatal(err)
	}
	direct := newDriver(t, example(t), Options{}, 100, 30)
	for _, k := range script.Keys() {
		direct.press(k)
	}

	r := newReplayer(New(example(t), Options{}), script, time.Millisecond, true)
	r.wait = heldTimer
	d := newHeldDriver(t, r, 100, 30)
	for ticks := 0; !d.quit; ticks++ {
		if ticks > 2*len(script.Steps)+2 || !d.tick() {
			t.Fatalf("the replay did not quit after its last key (%d ticks)", ticks)
		}
	}
	if got, want := d.m.View().Content, direct.m.View().Content; got != want {
		t.Errorf("the replayer ends on another screen than the same keys pressed directly:\n%s\nwant:\n%s", ansi.Strip(got), ansi.Strip(want))
	}
}

func TestReplayerWaitsForExplanation(t *testing.T) {
	m := New(example(t), Options{})
	model, _ := m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	model, explain := model.(Model).Update(tea.KeyPressMsg{Code: 'n', Text: "n"})
	if explain == nil || model.(Model).idle() {
		t.Fatal("n started no explanation; the test needs one running")
	}

	script, err := ParseKeyScript("n")
	if err != nil {
		t.Fatal(err)
	}
	r := newReplayer(model, script, 0, false)
	r.wait = heldTimer
	next, _ := r.Update(replayTickMsg{step: 0})
	r = next.(replayer)
	if got := r.inner.(Model).timeline.current; got != 1 {
		t.Fatalf("the replayer pressed n while the model was busy: event %d, want 1", got)
	}

	next, _ = r.Update(explain())
	r = next.(replayer)
	if got := r.inner.(Model).timeline.current; got != 2 {
		t.Errorf("the replayer did not press n once the explanation arrived: event %d, want 2", got)
	}
}

func TestHoldFrameKeepsLastIdleFrame(t *testing.T) {
	kept := new(tea.View)
	busy := tea.NewView("computing…")
	busy.AltScreen = true
	if v := holdFrame(busy, true, kept); v.Content != "" || !v.AltScreen {
		t.Errorf("busy before any idle frame: content %q, alt screen %v; want empty, true", v.Content, v.AltScreen)
	}
	ready := tea.NewView("terms 1–12")
	ready.AltScreen = true
	if v := holdFrame(ready, false, kept); v.Content != "terms 1–12" {
		t.Errorf("idle frame replaced by %q", v.Content)
	}
	if v := holdFrame(busy, true, kept); v.Content != "terms 1–12" {
		t.Errorf("busy frame %q shown, want the last idle frame", v.Content)
	}
}

func TestRestoreLastLinePrintsErasedFooter(t *testing.T) {
	opts := Options{Keys: &KeyScript{}}
	model, err := rootModel(example(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	d := newHeldDriver(t, model, 100, 30)
	d.m.View()
	var out strings.Builder
	restoreLastLine(&out, d.m)
	if got := out.String(); !strings.HasPrefix(got, "n next event • p previous event") || !strings.HasSuffix(got, "…\n") {
		t.Errorf("restored line %q, want the footer's key help", got)
	}

	opts.AltScreen = true
	model, err = rootModel(example(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	restoreLastLine(&out, model)
	if out.Len() != 0 {
		t.Errorf("in the alternate screen it printed %q, want nothing", out.String())
	}
}

func TestGuideListsEveryKey(t *testing.T) {
	guide, err := os.ReadFile(filepath.Join("..", "docs", "guide.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, group := range DefaultKeyMap().FullHelp() {
		for _, b := range group {
			if !strings.Contains(string(guide), "`"+b.Help().Key+"`") {
				t.Errorf("docs/guide.md does not list the key %q (%s)", b.Help().Key, b.Help().Desc)
			}
		}
	}
}
