package store

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// landedMigrations pins the sha256 of every released migration. A
// migration that has landed must never change: a file it has migrated
// records only its name and version, so an edited migration is never run
// again on it, and that file then lacks what the edit added while claiming
// the version (ops finding 3: 0005 was edited twice after it landed, and
// files from before failed with "no such column: assigned_at"). A change
// to the schema is a new migration. The newest migration may still change
// until the next one lands; pin it here when adding that one.
var landedMigrations = map[string]string{
	"0001_init.sql":                  "20bba49566d21cf9199b8c8db679ff0e86ea76c2f9d6539fd488e2045242c096",
	"0002_first_reply_index.sql":     "7b4eaee03af48d534a1fbb7b34214643ff3e4b32c5749cb4ecc4f0b8ff8e7553",
	"0003_users_out_of_scope.sql":    "56b965100592bedd2ef68bd7090eb9506b6d5f9d0b42c6c75bb67dc5502460ec",
	"0004_users_mailboxes.sql":       "86c73b0f11e8b341e91edd440c07693b4b8c3c6d6be7e6845c32e8a70c3d09d0",
	"0005_first_answer.sql":          "28fd4141c16e0cfc4d0b27127baffa6183f3cfac03ca6e47ddde42dcbe600837",
	"0006_waiting_by_assignee.sql":   "9bdef237b8670fd8ea1fe08de61c011213bc64a50a592bdcacfbf200ff8e1160",
	"0007_agent_replies.sql":         "1582ca7749b6a734282a0bc631b331399cf35d5110f92f4513beec5f8cd1acb3",
	"0008_hardening.sql":             "0fe20985f6620623cd7974401664ec7b5dfe5e74ea73639ba89f9578d1a67099",
	"0009_steered_rotation.sql":      "a7c591444ce6f92842aedaa104a1f622f902ac93668160746a455b73e9d76216",
	"0010_live_observation.sql":      "02a7258fd90b3b40993f5ebe307d064e41cab2af616fdc61488096d9904be03e",
	"0011_mirror_scope.sql":          "c560c364d8fc89d983f1d6b25c71fd682f39c99344e54b7ed1614adb29641c02",
	"0012_mirror_scope_recorded.sql": "a1c70262014416b604e57a209f8b14ad44cb8209bb71d6e5a07d5f09d774ca5c",
	"0013_stale_walk_cursors.sql":    "3201691755bc538c261f0fdab86f1ff980ec1ecf127b0b6380eea1dfeb22edaf",
	"0014_walked_mailboxes.sql":      "c1f6db8fa7e8205e90565993f8ca0814f661520286e62fce5a56a81983df3b9c",
	"0015_reassigned_at.sql":         "a01f18a391759fc48c2b4783b7ba268bfc4b9a5caf412e7bd1d7aaed983ce77a",
	"0016_move_notes.sql":            "6c10e102d85fd9948f1f2a3925a189403f7f93721e93ef403b76dc50e5efb20b",
	"0017_from_webhook.sql":          "1fa8cb40a0eac7e769db38845b61b957d8c78be968162df49e7344e91b705afc",
	"0018_workflow_moves.sql":        "2b8a97357663878ee795680e2bb7661bd30190a8f379e707307edc52082dff53",
}

func TestLandedMigrationsNeverChange(t *testing.T) {
	t.Parallel()
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:len(ms)-1] {
		sum := sha256.Sum256([]byte(m.sql))
		got := hex.EncodeToString(sum[:])
		switch want, ok := landedMigrations[m.name]; {
		case !ok:
			t.Errorf("%s is not pinned: add it to landedMigrations (sha256 %s) now that a newer migration has landed", m.name, got)
		case got != want:
			t.Errorf("%s changed after it landed (sha256 %s, pinned %s): put the change in a new migration and restore this file", m.name, got, want)
		}
	}
	for name := range landedMigrations {
		found := false
		for _, m := range ms {
			found = found || m.name == name
		}
		if !found {
			t.Errorf("landed migration %s is gone: a released migration is never renamed or removed", name)
		}
	}
}
