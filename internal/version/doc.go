// Package version says which build of queuewrangler is running: the
// version and commit the release build stamps in with -ldflags -X (the
// Dockerfile's VERSION and COMMIT build arguments), or the commit the go
// tool stamped from version control, and the Go version. It imports only
// the standard library.
package version
