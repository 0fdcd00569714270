package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// reportCrash writes a crash report with the panic value and stack to a new
// file in os.TempDir, prints one line naming it, and returns exit status 1.
// The stack goes only to the file, never to the terminal.
func reportCrash(stderr io.Writer, args []string, value any, stack []byte) int {
	path, err := writeCrashReport(args, value, stack)
	if err != nil {
		fmt.Fprintf(stderr, "cnndbg: internal error: %s (the crash report could not be written: %v)\n", oneLine(fmt.Sprint(value)), err)
		return 1
	}
	fmt.Fprintf(stderr, "cnndbg: internal error: %s; the crash report is %s: please attach it to a bug report\n", oneLine(fmt.Sprint(value)), path)
	return 1
}

// writeCrashReport writes the report and returns its path.
func writeCrashReport(args []string, value any, stack []byte) (string, error) {
	f, err := os.CreateTemp("", "cnndbg-crash-*.txt")
	if err != nil {
		return "", err
	}
	var report strings.Builder
	fmt.Fprintf(&report, "cnndbg crash report, %s\n", time.Now().Format(time.RFC3339))
	fmt.Fprintf(&report, "command: cnndbg %s\n", strings.Join(args, " "))
	fmt.Fprintf(&report, "go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if info, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(&report, "module: %s %s\n", info.Main.Path, info.Main.Version)
		for _, setting := range info.Settings {
			if strings.HasPrefix(setting.Key, "vcs.") {
				fmt.Fprintf(&report, "%s: %s\n", setting.Key, setting.Value)
			}
		}
	}
	fmt.Fprintf(&report, "\npanic: %v\n\n%s", value, stack)
	if _, err := f.WriteString(report.String()); err != nil {
		f.Close()
		return "", err
	}
	return f.Name(), f.Close()
}
