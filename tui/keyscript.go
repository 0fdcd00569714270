package tui

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// KeyScript is a sequence of key presses and pauses that Run replays, so a
// recording of the screen can be made again key for key.
//
// A script is text split at blanks. Each word is a key written as bubbletea
// v2 prints it (tea.KeyPressMsg.String): one printable character such as n,
// G, ? or :, or a name such as enter, esc, tab, space, backspace, up, pgdown
// or f1, with optional ctrl+, alt+ and shift+ in front (ctrl+c, shift+tab).
// The word sleep followed by a Go duration (sleep 500ms) waits that long
// before the next key. A line whose first non-blank character is # is a
// comment.
type KeyScript struct {
	Steps []ScriptStep
}

// ScriptStep is one key press, or a pause when Sleep is positive.
type ScriptStep struct {
	// Token is the step as written in the script, such as "enter" or
	// "sleep 500ms".
	Token string
	Key   tea.KeyPressMsg
	Sleep time.Duration
}

// Keys returns the script's key names in order, without its pauses.
func (s KeyScript) Keys() []string {
	var keys []string
	for _, step := range s.Steps {
		if step.Sleep == 0 {
			keys = append(keys, step.Token)
		}
	}
	return keys
}

// namedKeyCodes are the key names a script may use besides single
// characters, with the codes bubbletea v2 gives those keys.
var namedKeyCodes = map[string]rune{
	"enter": tea.KeyEnter, "tab": tea.KeyTab, "esc": tea.KeyEscape, "space": tea.KeySpace,
	"backspace": tea.KeyBackspace, "delete": tea.KeyDelete, "insert": tea.KeyInsert,
	"up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight,
	"home": tea.KeyHome, "end": tea.KeyEnd, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
	"f1": tea.KeyF1, "f2": tea.KeyF2, "f3": tea.KeyF3, "f4": tea.KeyF4, "f5": tea.KeyF5, "f6": tea.KeyF6,
	"f7": tea.KeyF7, "f8": tea.KeyF8, "f9": tea.KeyF9, "f10": tea.KeyF10, "f11": tea.KeyF11, "f12": tea.KeyF12,
}

// keyNameExamples ends the message for an unknown key.
const keyNameExamples = "use bubbletea key names such as n, G, ?, enter, esc, tab, shift+tab, space, up, pgdown, ctrl+c, or sleep 500ms"

// ParseKeyScript parses the text of a key script. An unknown key name or a
// sleep without a valid positive duration is an error naming the word and
// its line.
func ParseKeyScript(text string) (KeyScript, error) {
	var script KeyScript
	for n, line := range strings.Split(text, "\n") {
		words := strings.Fields(line)
		if len(words) > 0 && strings.HasPrefix(words[0], "#") {
			continue
		}
		for k := 0; k < len(words); k++ {
			word := words[k]
			if word == "sleep" {
				if k+1 == len(words) {
					return KeyScript{}, fmt.Errorf("line %d: sleep needs a duration after it on the same line, such as sleep 500ms", n+1)
				}
				k++
				d, err := time.ParseDuration(words[k])
				if err != nil || d <= 0 {
					return KeyScript{}, fmt.Errorf("line %d: sleep %q: want a positive duration such as 500ms or 2s", n+1, words[k])
				}
				script.Steps = append(script.Steps, ScriptStep{Token: "sleep " + words[k], Sleep: d})
				continue
			}
			press, err := parseKey(word)
			if err != nil {
				return KeyScript{}, fmt.Errorf("line %d: %w", n+1, err)
			}
			script.Steps = append(script.Steps, ScriptStep{Token: word, Key: press})
		}
	}
	return script, nil
}

// mustParseKeyScript parses a script written in this package.
func mustParseKeyScript(text string) KeyScript {
	s, err := ParseKeyScript(text)
	if err != nil {
		panic("tui: " + err.Error())
	}
	return s
}

// LoadKeyScript reads a key script from the file named arg, or parses arg
// itself when no regular file has that name. Errors name the file or the
// word at fault.
func LoadKeyScript(arg string) (KeyScript, error) {
	if info, err := os.Stat(arg); err == nil && info.Mode().IsRegular() {
		text, err := os.ReadFile(arg)
		if err != nil {
			return KeyScript{}, err
		}
		script, err := ParseKeyScript(string(text))
		if err != nil {
			return KeyScript{}, fmt.Errorf("%s: %w", arg, err)
		}
		return script, nil
	}
	return ParseKeyScript(arg)
}

// parseKey turns one key name into the key press a terminal would deliver.
func parseKey(word string) (tea.KeyPressMsg, error) {
	unknown := fmt.Errorf("unknown key %q: %s", word, keyNameExamples)
	var press tea.KeyPressMsg
	base := word
	for {
		var mod tea.KeyMod
		switch {
		case strings.HasPrefix(base, "ctrl+") && len(base) > len("ctrl+"):
			mod = tea.ModCtrl
		case strings.HasPrefix(base, "alt+") && len(base) > len("alt+"):
			mod = tea.ModAlt
		case strings.HasPrefix(base, "shift+") && len(base) > len("shift+"):
			mod = tea.ModShift
		}
		if mod == 0 {
			break
		}
		if press.Mod&mod != 0 {
			return tea.KeyPressMsg{}, unknown
		}
		press.Mod |= mod
		base = base[strings.Index(base, "+")+1:]
	}

	if code, ok := namedKeyCodes[base]; ok {
		press.Code = code
		if code == tea.KeySpace && press.Mod == 0 {
			press.Text = " "
		}
		return press, nil
	}
	r, size := utf8.DecodeRuneInString(base)
	if size != len(base) || r == utf8.RuneError || !unicode.IsPrint(r) || unicode.IsSpace(r) {
		return tea.KeyPressMsg{}, unknown
	}
	press.Code = r
	switch press.Mod {
	case 0:
		press.Text = base
	case tea.ModShift:
		press.Text = string(unicode.ToUpper(r))
	}
	return press, nil
}

// idler is a model that can tell whether background work it started, such
// as an explanation, is still running. Replayed keys and tour steps wait
// for it, so each frame they lead to is the same on every run.
type idler interface {
	idle() bool
}

// idle reports whether the chosen element's explanation is shown, no
// other explanation or tensor read is running or waiting to run, no u
// press waits, and no step for the real dZ is being recorded.
func (m Model) idle() bool {
	return !m.inspector.Computing() && !m.explaining && m.pending == nil && m.deferredUps == 0 &&
		len(m.loading) == 0 && !m.course.recording && !m.hunt.busy()
}

// holdFrame returns v while the model is idle and keeps it in kept. While
// the model is busy it returns the frame kept last, with v's terminal
// modes, or an empty frame if none was kept. Scripted screens use it so
// that frames such as "computing…", whose timing depends on the machine,
// never reach the terminal, and a recording comes out the same every time.
func holdFrame(v tea.View, busy bool, kept *tea.View) tea.View {
	if !busy {
		*kept = v
		return v
	}
	if kept.Content == "" {
		v.Content = ""
		return v
	}
	return *kept
}

// replayer feeds a KeyScript to the model it wraps, one key every delay.
// A key that falls due while the model is busy waits until the model is
// idle, so the same script leads to the same frames however fast the
// machine computes explanations. Keys the user types pass through.
type replayer struct {
	inner     tea.Model
	script    KeyScript
	delay     time.Duration
	exitAfter bool

	// next is the step to carry out when its tick arrives; waiting is true
	// while that step is due but the model is busy.
	next    int
	waiting bool
	// wait returns a command that sends msg after d; tests replace it.
	wait func(d time.Duration, msg tea.Msg) tea.Cmd
	// idleFrame is the last frame drawn while the model was idle, shared
	// by every copy of the replayer.
	idleFrame *tea.View
}

// replayTickMsg reports that step of the script is due.
type replayTickMsg struct{ step int }

func newReplayer(inner tea.Model, script KeyScript, delay time.Duration, exitAfter bool) replayer {
	return replayer{inner: inner, script: script, delay: delay, exitAfter: exitAfter, wait: after, idleFrame: new(tea.View)}
}

// after returns a command that sends msg once d has passed.
func after(d time.Duration, msg tea.Msg) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return msg })
}

func (r replayer) Init() tea.Cmd {
	return tea.Batch(r.inner.Init(), r.schedule())
}

// schedule starts the timer of step r.next. After the last step it quits
// if exitAfter is set, one delay later so the last frame can be seen.
func (r replayer) schedule() tea.Cmd {
	if r.next >= len(r.script.Steps) {
		if r.exitAfter {
			return r.wait(r.delay, replayTickMsg{step: r.next})
		}
		return nil
	}
	step := r.script.Steps[r.next]
	if step.Sleep > 0 {
		return r.wait(step.Sleep, replayTickMsg{step: r.next})
	}
	return r.wait(r.delay, replayTickMsg{step: r.next})
}

func (r replayer) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if tick, ok := msg.(replayTickMsg); ok {
		if tick.step != r.next {
			return r, nil
		}
		if r.next < len(r.script.Steps) && r.script.Steps[r.next].Sleep > 0 {
			r.next++
			return r, r.schedule()
		}
		r.waiting = true
		return r.pressDue(nil)
	}

	var cmd tea.Cmd
	r.inner, cmd = r.inner.Update(msg)
	return r.pressDue(cmd)
}

// pressDue presses the due key if the model is idle, or quits if the
// script has ended, and batches the resulting commands with cmd.
func (r replayer) pressDue(cmd tea.Cmd) (tea.Model, tea.Cmd) {
	if !r.waiting {
		return r, cmd
	}
	if m, ok := r.inner.(idler); ok && !m.idle() {
		return r, cmd
	}
	r.waiting = false
	if r.next >= len(r.script.Steps) {
		return r, tea.Batch(cmd, tea.Quit)
	}
	var pressCmd tea.Cmd
	r.inner, pressCmd = r.inner.Update(r.script.Steps[r.next].Key)
	r.next++
	return r, tea.Batch(cmd, pressCmd, r.schedule())
}

// View holds back the frames drawn while the model is busy until the
// script has ended: see holdFrame.
func (r replayer) View() tea.View {
	scripted := r.next < len(r.script.Steps) || r.waiting
	return holdFrame(r.inner.View(), scripted && !r.idle(), r.idleFrame)
}

func (r replayer) idle() bool {
	if m, ok := r.inner.(idler); ok {
		return m.idle()
	}
	return true
}

// frameKeeper wraps the root model of a screen drawn outside the alternate
// screen and keeps the content of the last frame drawn.
//
// bubbletea v2.1.1 erases the last line of the frame when the program
// ends outside the alternate screen: it moves to that line and clears the
// screen below it. restoreLastLine prints it again, so the whole last
// frame stays in the scrollback of a recording.
type frameKeeper struct {
	inner tea.Model
	// last is shared by every copy of the keeper, because bubbletea
	// returns only the final model and Run needs the last frame.
	last *string
}

func (k frameKeeper) Init() tea.Cmd { return k.inner.Init() }

func (k frameKeeper) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	k.inner, cmd = k.inner.Update(msg)
	return k, cmd
}

func (k frameKeeper) View() tea.View {
	v := k.inner.View()
	*k.last = v.Content
	return v
}

func (k frameKeeper) idle() bool {
	if m, ok := k.inner.(idler); ok {
		return m.idle()
	}
	return true
}

// restoreLastLine prints the last line of the last frame of model, if it
// is a frameKeeper, without its styles, where the program erased it.
func restoreLastLine(w io.Writer, model tea.Model) {
	k, ok := model.(frameKeeper)
	if !ok || *k.last == "" {
		return
	}
	lines := strings.Split(*k.last, "\n")
	fmt.Fprintln(w, strings.TrimRight(ansi.Strip(lines[len(lines)-1]), " "))
}
