//go:build !linux

package config

// readOnlyFS is false where statfs gives no mount flags this package reads:
// there, serve's /readyz names a read-only file system once it meets one.
var readOnlyFS = func(string) bool { return false }
