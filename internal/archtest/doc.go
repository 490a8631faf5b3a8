// Package archtest holds no code, only tests that keep the package map in
// the README's Development section true: the direction of imports is the
// architecture, and a picture in a document drifts unless something checks
// it. The rules live in arch_test.go; the README's table must list the same
// packages with the same allowed imports.
package archtest
