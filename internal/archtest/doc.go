// Package archtest holds no code, only a test that keeps the import graph of
// style.md true: the direction of imports is the architecture, and a picture
// in a document drifts unless something checks it.
package archtest
