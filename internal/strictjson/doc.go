// Package strictjson finds the keys of a JSON document that a Go type does
// not know, with where they are.
//
// encoding/json's DisallowUnknownFields stops at the first unknown key and
// does not say where it is ("unknown field \"shoe\""), so a file with a
// typo in its third team member names neither the member nor any other
// problem. Configuration and scenario files are checked with
// UnknownFields first, so that every unknown key is reported at once with
// its path ("team[2].shoe"), and then decoded leniently to find the
// remaining problems. DuplicateKeys finds the keys an object repeats,
// which encoding/json resolves silently to the last.
package strictjson
