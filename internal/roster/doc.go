// Package roster reads the team roster (QW_ROSTER_FILE, the README's roster section)
// and answers, for a Help Scout user, the balancing facts Help Scout does not
// know: role, seniority level, capacity weight, hard cap, escalation
// eligibility and working hours.
//
// Parsing is strict: an unknown field, a bad level or an unparsable shift is
// an error naming the entry and the field, and every problem is reported at
// once, because a roster typo would otherwise silently route tickets to the
// wrong people. A program that holds its team as values (the simulation,
// the demo) builds a roster with New, which validates exactly as Parse does
// (Parse decodes the file into the same Entry values and goes through it);
// it never writes JSON to read it back.
//
// Availability combines the roster's hours (in the agent's time zone) with
// Help Scout's Active/Away status; the caller supplies both and the time, so
// the package has no clock of its own.
//
// OfficeHours (QW_OFFICE_HOURS) reuses the shift syntax and arithmetic for
// the team as a whole: the time between two moments that falls inside
// office hours, which the office-hours histograms observe.
package roster
