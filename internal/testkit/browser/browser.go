package browser

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// Browser is one headless Chromium tab for one test.
type Browser struct {
	// Ctx carries the tab and the run's deadline: pass it to chromedp.Do
	// and chromedp.Run.
	Ctx context.Context
	t   *testing.T
	dir string
}

// Start launches Chromium with a desktop-sized window and a deadline of
// timeout for the whole run, or skips the test (see testkit.RequireTool).
// Screenshots go to t.ArtifactDir() (kept with go test -artifacts
// -outputdir DIR).
func Start(t *testing.T, timeout time.Duration) *Browser {
	t.Helper()
	path := testkit.RequireTool(t, "chromium", "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // the tests run as root in a container
		chromedp.DisableGPU,
		// The machine has no network beyond loopback: without these,
		// Chromium keeps dialling Google's services.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	ctx, cancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancel()
		cancelCtx()
		cancelAlloc()
	})
	dir := t.ArtifactDir()
	t.Logf("screenshots in %s", dir)
	return &Browser{Ctx: ctx, t: t, dir: dir}
}

// Shot is an action that saves a full-page screenshot under name in the
// artifact directory.
func (b *Browser) Shot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, tg)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(b.dir, name), png, 0o644)
	})
}

// Text is the trimmed text of the element sel selects; the test fails when
// there is none.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// Eval is the value of a JavaScript expression in the page (numbers come
// back as float64); the test fails when it throws.
func (b *Browser) Eval(js string) any {
	b.t.Helper()
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[any](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// Submit clicks a form's button and waits for the page that the POST's
// redirect loads (the page before the click may already show what the test
// looks for, such as a flash).
func (b *Browser) Submit(button string) error {
	_, err := chromedp.Run(b.Ctx, chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.Click(chromedp.CSS(button))))
	return err
}
