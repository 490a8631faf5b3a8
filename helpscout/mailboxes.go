package helpscout

import (
	"context"
	"fmt"
	"iter"
	"strconv"
)

// MailboxesService covers /v2/mailboxes (called inboxes in the UI): the
// mailboxes, their folders and their routing (routing.go).
type MailboxesService service

// Mailbox is a Help Scout mailbox (inbox).
type Mailbox struct {
	ID        int64  `json:"id"`
	Name      string `json:"name,omitempty"`
	Slug      string `json:"slug,omitempty"`
	Email     string `json:"email,omitempty"`
	CreatedAt Time   `json:"createdAt,omitzero"`
	UpdatedAt Time   `json:"updatedAt,omitzero"`
}

// Folder is a mailbox folder. UserID is 0 for shared folders.
type Folder struct {
	ID          int64  `json:"id"`
	Name        string `json:"name,omitempty"`
	Type        string `json:"type,omitempty"` // open, mytickets, assigned, closed, spam, team, ...
	UserID      int64  `json:"userId"`
	TotalCount  int    `json:"totalCount"`
	ActiveCount int    `json:"activeCount"`
	UpdatedAt   Time   `json:"updatedAt,omitzero"`
}

// List fetches one page (50) of mailboxes.
func (s *MailboxesService) List(ctx context.Context, page int) ([]Mailbox, *Response, error) {
	boxes, resp, err := getPage[Mailbox](ctx, s.client, "v2/mailboxes", keyMailboxes, pageQuery(page))
	if err != nil {
		return nil, resp, fmt.Errorf("list mailboxes (page %d): %w", max(page, 1), err)
	}
	return boxes, resp, nil
}

// All walks every page of mailboxes.
func (s *MailboxesService) All(ctx context.Context) iter.Seq2[Mailbox, error] {
	return walk(ctx, 1, s.List)
}

// Get fetches one mailbox.
func (s *MailboxesService) Get(ctx context.Context, id int64) (*Mailbox, *Response, error) {
	if id <= 0 {
		return nil, nil, fmt.Errorf("get mailbox: invalid id %d", id)
	}
	m := new(Mailbox)
	resp, err := s.client.get(ctx, "v2/mailboxes/"+strconv.FormatInt(id, 10), nil, m)
	if err != nil {
		return nil, resp, fmt.Errorf("get mailbox %d: %w", id, err)
	}
	return m, resp, nil
}

// Folders fetches one page (50) of a mailbox's folders.
func (s *MailboxesService) Folders(ctx context.Context, mailboxID int64, page int) ([]Folder, *Response, error) {
	if mailboxID <= 0 {
		return nil, nil, fmt.Errorf("list folders: invalid mailbox id %d", mailboxID)
	}
	path := "v2/mailboxes/" + strconv.FormatInt(mailboxID, 10) + "/folders"
	folders, resp, err := getPage[Folder](ctx, s.client, path, keyFolders, pageQuery(page))
	if err != nil {
		return nil, resp, fmt.Errorf("list folders of mailbox %d (page %d): %w", mailboxID, max(page, 1), err)
	}
	return folders, resp, nil
}

// AllFolders walks every page of a mailbox's folders.
func (s *MailboxesService) AllFolders(ctx context.Context, mailboxID int64) iter.Seq2[Folder, error] {
	return walk(ctx, 1, func(ctx context.Context, page int) ([]Folder, *Response, error) {
		return s.Folders(ctx, mailboxID, page)
	})
}
