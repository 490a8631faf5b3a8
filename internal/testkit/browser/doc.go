// Package browser is the one harness for the tests that drive the queue page
// in Debian's headless Chromium through chromedp: it starts the browser
// (under testkit.RequireTool's rule: QW_E2E=1 runs it, a missing chromium
// then fails), stops it when the test ends, and gives the actions both page
// tests use.
//
// Only tests import it. It sits apart from testkit so that chromedp is built
// into the browser tests' binaries alone, not into every test that wants a
// clock.
package browser
