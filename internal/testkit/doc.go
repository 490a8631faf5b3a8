// Package testkit is the scaffolding the module's tests share: a settable
// clock, a store opened in a file under t.TempDir(), the size knob for
// volume tests and whether the race detector is on.
//
// Only tests import it (archtest checks that no package's own code does):
// it calls t.Fatal and t.Cleanup, which have no place in a running daemon.
// It holds no fakes of the module's packages and no assertions; a helper
// lives here only when the tests of more than one package need it.
package testkit
