package helpscout

import (
	"context"
	"fmt"
	"iter"
	"strconv"
)

// TeamsService covers /v2/teams.
type TeamsService service

// Team is a Help Scout team; it can be an assignee like a user.
type Team struct {
	ID        int64  `json:"id"`
	Name      string `json:"name,omitempty"`
	Timezone  string `json:"timezone,omitempty"`
	PhotoURL  string `json:"photoUrl,omitempty"`
	Mention   string `json:"mention,omitempty"`
	Initials  string `json:"initials,omitempty"`
	CreatedAt Time   `json:"createdAt,omitzero"`
	UpdatedAt Time   `json:"updatedAt,omitzero"`
}

// List fetches one page (50) of teams.
func (s *TeamsService) List(ctx context.Context, page int) ([]Team, *Response, error) {
	teams, resp, err := getPage[Team](ctx, s.client, "v2/teams", keyTeams, pageQuery(page))
	if err != nil {
		return nil, resp, fmt.Errorf("list teams (page %d): %w", max(page, 1), err)
	}
	return teams, resp, nil
}

// All walks every page of teams.
func (s *TeamsService) All(ctx context.Context) iter.Seq2[Team, error] {
	return walk(ctx, 1, s.List)
}

// Members fetches one page (50) of a team's members.
func (s *TeamsService) Members(ctx context.Context, teamID int64, page int) ([]User, *Response, error) {
	if teamID <= 0 {
		return nil, nil, fmt.Errorf("list team members: invalid team id %d", teamID)
	}
	path := "v2/teams/" + strconv.FormatInt(teamID, 10) + "/members"
	users, resp, err := getPage[User](ctx, s.client, path, keyUsers, pageQuery(page))
	if err != nil {
		return nil, resp, fmt.Errorf("list members of team %d (page %d): %w", teamID, max(page, 1), err)
	}
	return users, resp, nil
}

// AllMembers walks every page of a team's members.
func (s *TeamsService) AllMembers(ctx context.Context, teamID int64) iter.Seq2[User, error] {
	return walk(ctx, 1, func(ctx context.Context, page int) ([]User, *Response, error) {
		return s.Members(ctx, teamID, page)
	})
}
