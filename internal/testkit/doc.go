// Package testkit is the scaffolding that more than one package's tests
// need: a settable clock, a store opened in a file under t.TempDir(), the
// size knob for volume tests and whether the race detector is on, a wait
// on an observable condition (WaitFor, in place of sleeps), the rule for
// outside programs such as chromium (RequireTool), a log sink safe for
// concurrent writers and a local endpoint that records what is posted to
// it (Recorder, a webhook receiver such as Slack's), and a permission test
// run as an unprivileged user even under root (AsUnprivileged). The
// browser harness is in testkit/browser, so that chromedp is built only
// into the tests that drive a browser.
//
// Only tests import it (archtest refuses any other importer): it calls
// t.Fatal and t.Cleanup, which have no place in a running daemon. It holds
// no fakes of the module's packages (the fake Help Scout and its
// authenticated Client are helpscouttest's) and no assertions.
package testkit
