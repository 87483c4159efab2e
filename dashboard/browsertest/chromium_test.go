package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is the browser the tests drive: CAMPAIGNCONNECTOR_CHROMIUM,
// else Debian's chromium. Without one the tests are skipped, except on CI.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CAMPAIGNCONNECTOR_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		const how = "install Debian's chromium (apt-get install -y chromium) or set CAMPAIGNCONNECTOR_CHROMIUM"
		if os.Getenv("CI") == "true" {
			t.Fatalf("no browser at %s and CI=true: %s", path, how)
		}
		t.Skipf("no browser at %s: %s", path, how)
	}
	return path
}

// browser is one headless Chromium tab, with what the page wrote to its
// console and the dialogs it opened since the last check.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string
}

// actionTimeout bounds each step, so that a page that never loads fails
// the test instead of hanging it.
const actionTimeout = 60 * time.Second

// newBrowser starts Chromium with a fresh profile and the flags a closed
// network needs (nothing in the background reaches out), and opens a tab.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // start the browser without a deadline
		t.Fatalf("starting %s: %v", chromiumPath(t), err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				b.problem("console.%s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			b.problem("uncaught exception: %s", (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				b.problem("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		case *page.EventJavascriptDialogOpening:
			b.problem("a %s dialog opened: %q", ev.Type, ev.Message)
			go func() { // a dialog blocks the page until it is closed
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) problem(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, fmt.Sprintf(format, args...))
}

// takeProblems returns and forgets what the pages reported.
func (b *browser) takeProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// clean fails the test if the pages reported a console error, an
// exception or a dialog since the last check.
func (b *browser) clean(where string) {
	b.t.Helper()
	for _, p := range b.takeProblems() {
		b.t.Errorf("%s: %s", where, p)
	}
}

// do runs steps with a deadline, failing the test on an error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// navigate loads url and waits for its main element.
func (b *browser) navigate(url string) {
	b.t.Helper()
	b.do("loading "+url, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("main")))
}

// click clicks the element of sel, after running prep on it (as e), and
// waits for the page it loads. The element is found, prepared and clicked
// in one step in the page: the live refresh may replace the page's
// contents at any moment, and a node found in one step would be gone by
// the next, a field filled in one step emptied by the next (a refresh
// already under way when the field took the focus still lands).
func (b *browser) click(sel string, prep ...string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	q, err := json.Marshal(sel)
	if err != nil {
		b.t.Fatal(err)
	}
	var found bool
	clickIt := chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (e) { %s; e.click(); } return !!e; })()`, q, strings.Join(prep, "; ")))
	step := func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		var err error
		found, err = clickIt(ctx, t)
		return chromedp.Void{}, err
	}
	if _, err := chromedp.RunResponse(ctx, step); err != nil || !found {
		b.t.Fatalf("clicking %s: found %v, %v", sel, found, err)
	}
	b.do("waiting for the page after clicking "+sel, chromedp.WaitReady(chromedp.CSS("main")))
}

// act runs script on the element of sel (as e) in one step in the page,
// for the reason click does, failing the test if there is none.
func (b *browser) act(what, sel, script string) {
	b.t.Helper()
	q, err := json.Marshal(sel)
	if err != nil {
		b.t.Fatal(err)
	}
	if !eval[bool](b, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) { return false; } %s; return true; })()`, q, script)) {
		b.t.Fatalf("%s: no %s", what, sel)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// location is the page's address.
func (b *browser) location() string { return eval[string](b, "location.href") }

// screenshot saves the whole page as name.png in the artifacts directory.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(artifacts(b.t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

var (
	artifactsOnce sync.Once
	artifactsDir  string
	artifactsErr  error
)

// TestMain removes the temporary screenshot directory after a run that
// passed: each run would otherwise leave a few megabytes behind. A
// directory named by CAMPAIGNCONNECTOR_SCREENSHOTS is the caller's to keep.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && artifactsDir != "" && os.Getenv("CAMPAIGNCONNECTOR_SCREENSHOTS") == "" {
		if err := os.RemoveAll(artifactsDir); err == nil {
			fmt.Fprintf(os.Stderr, "browsertest: all passed; removed %s\n", artifactsDir)
		}
	}
	os.Exit(code)
}

// artifacts is where the screenshots go: CAMPAIGNCONNECTOR_SCREENSHOTS, or
// a temporary directory, which TestMain keeps only when a test failed. Its
// path is printed.
func artifacts(t *testing.T) string {
	t.Helper()
	artifactsOnce.Do(func() {
		artifactsDir = os.Getenv("CAMPAIGNCONNECTOR_SCREENSHOTS")
		if artifactsDir == "" {
			artifactsDir, artifactsErr = os.MkdirTemp("", "campaignconnector-dashboard-screenshots-")
		} else {
			artifactsErr = os.MkdirAll(artifactsDir, 0o755)
		}
		if artifactsErr == nil {
			fmt.Fprintf(os.Stderr, "browsertest: screenshots in %s\n", artifactsDir)
		}
	})
	if artifactsErr != nil {
		t.Fatal(artifactsErr)
	}
	return artifactsDir
}
