package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key of the screen, grouped by the pane it acts on. The
// footer and the help overlay are both rendered from it, so the help cannot
// disagree with the keys.
type KeyMap struct {
	Global    GlobalKeys
	Timeline  TimelineKeys
	Tensor    TensorKeys
	Inspector InspectorKeys
	Course    CourseKeys
	Hunt      HuntKeys
}

// GlobalKeys work whichever pane has the focus.
type GlobalKeys struct {
	Help, Quit, FocusNext, FocusPrev, Producer key.Binding
}

// TimelineKeys step through the events of the trace.
type TimelineKeys struct {
	Next, Prev, First, Last, Search, Jump, Up, Down key.Binding
}

// TensorKeys choose a tensor of the current event, a slice and an element.
type TensorKeys struct {
	NextTensor, PrevTensor   key.Binding
	PrevSample, NextSample   key.Binding
	PrevChannel, NextChannel key.Binding
	Up, Down, Left, Right    key.Binding
}

// InspectorKeys read the chosen element's terms.
type InspectorKeys struct {
	Drill, Back, Up, Down, PageUp, PageDown key.Binding
}

// DefaultKeyMap returns the keys of the screen.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Global: GlobalKeys{
			Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "toggle this help")),
			Quit:      key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
			FocusNext: key.NewBinding(key.WithKeys("w", "ctrl+w"), key.WithHelp("w", "next pane")),
			FocusPrev: key.NewBinding(key.WithKeys("W"), key.WithHelp("W", "previous pane")),
			Producer:  key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "up to the producer")),
		},
		Timeline: TimelineKeys{
			Next:   key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next event")),
			Prev:   key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "previous event")),
			First:  key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "first event")),
			Last:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "last event")),
			Search: key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search layer or tensor name")),
			Jump:   key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "jump to event number or layer [phase]")),
			Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "previous event (timeline focused)")),
			Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "next event (timeline focused)")),
		},
		Tensor: TensorKeys{
			NextTensor:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next tensor of the event")),
			PrevTensor:  key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous tensor")),
			PrevSample:  key.NewBinding(key.WithKeys("["), key.WithHelp("[", "previous sample (c' for weights)")),
			NextSample:  key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "next sample (c' for weights)")),
			PrevChannel: key.NewBinding(key.WithKeys("{"), key.WithHelp("{", "previous channel")),
			NextChannel: key.NewBinding(key.WithKeys("}"), key.WithHelp("}", "next channel")),
			Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "element up")),
			Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "element down")),
			Left:        key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "element left")),
			Right:       key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "element right")),
		},
		Inspector: InspectorKeys{
			Drill:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "drill into the terms")),
			Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back out")),
			Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "previous term / scroll")),
			Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "next term / scroll")),
			PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
			PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		},
		Course: defaultCourseKeys(),
		Hunt:   defaultHuntKeys(),
	}
}

// ShortHelp returns the keys shown in the footer.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{
		k.Timeline.Next, k.Timeline.Prev, k.Tensor.NextTensor, k.Inspector.Drill,
		k.Global.Producer, k.Global.FocusNext, k.Global.Help, k.Global.Quit,
	}
}

// FullHelp returns every key, one group per pane, in the order of
// helpGroupTitles.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		append([]key.Binding{k.Global.Help, k.Global.Quit, k.Global.FocusNext, k.Global.FocusPrev, k.Global.Producer},
			k.Hunt.help()...),
		{k.Timeline.Next, k.Timeline.Prev, k.Timeline.First, k.Timeline.Last,
			k.Timeline.Up, k.Timeline.Down, k.Timeline.Search, k.Timeline.Jump},
		{k.Tensor.NextTensor, k.Tensor.PrevTensor, k.Tensor.Up, k.Tensor.Down, k.Tensor.Left, k.Tensor.Right,
			k.Tensor.PrevSample, k.Tensor.NextSample, k.Tensor.PrevChannel, k.Tensor.NextChannel},
		{k.Inspector.Drill, k.Inspector.Back, k.Inspector.Up, k.Inspector.Down,
			k.Inspector.PageUp, k.Inspector.PageDown},
		{k.Course.NextMistake, k.Course.RealDZ, k.Course.NextWrong, k.Course.PrevWrong},
	}
}

// helpGroupTitles name the groups of FullHelp.
var helpGroupTitles = []string{"everywhere", "timeline", "tensor view", "inspector", "course"}
