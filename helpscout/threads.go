package helpscout

import (
	"context"
	"fmt"
	"iter"
	"strconv"
)

// ThreadsService covers /v2/conversations/{id}/threads.
type ThreadsService service

// List fetches one page of a conversation's threads, newest first. page 0
// or 1 is the first page. A merged conversation's old id answers 404.
func (s *ThreadsService) List(ctx context.Context, conversationID int64, page int) ([]Thread, *Response, error) {
	if conversationID <= 0 {
		return nil, nil, fmt.Errorf("list threads: invalid conversation id %d", conversationID)
	}
	path := "v2/conversations/" + strconv.FormatInt(conversationID, 10) + "/threads"
	threads, resp, err := getPage[Thread](ctx, s.client, path, keyThreads, pageQuery(page))
	if err != nil {
		return nil, resp, fmt.Errorf("list threads of conversation %d (page %d): %w", conversationID, max(page, 1), err)
	}
	return threads, resp, nil
}

// All walks every page of a conversation's threads.
func (s *ThreadsService) All(ctx context.Context, conversationID int64) iter.Seq2[Thread, error] {
	return walk(ctx, 1, func(ctx context.Context, page int) ([]Thread, *Response, error) {
		return s.List(ctx, conversationID, page)
	})
}
