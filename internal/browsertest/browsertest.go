// Package browsertest starts the real browser that myriad's web tests
// drive: Debian's headless Chromium through chromedp, one fresh profile per
// test, stopped when the test ends.
package browsertest

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium, installed by scripts/deps.sh.
const ChromiumPath = "/usr/bin/chromium"

// New starts headless Chromium with a window of width × height pixels and
// returns a chromedp context that ends after timeout or with the test.
func New(t testing.TB, width, height int, timeout time.Duration) context.Context {
	t.Helper()
	if _, err := exec.LookPath(ChromiumPath); err != nil {
		t.Fatalf("%s is missing: run scripts/deps.sh (apt-get install chromium)", ChromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(width, height),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancel3)
	return ctx
}
