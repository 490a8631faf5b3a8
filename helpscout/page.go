package helpscout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
)

// Collection keys under a list's _embedded.
const (
	keyConversations = "conversations"
	keyThreads       = "threads"
	keyUsers         = "users"
	keyTeams         = "teams"
	keyMailboxes     = "mailboxes"
	keyFolders       = "folders"
	keyUserStatuses  = "userStatuses"
)

// halPage is one page of a HAL list: the items under _embedded[key] and the
// page block. Help Scout omits _embedded entirely on an empty page.
type halPage[T any] struct {
	key   string
	items []T
	page  PageInfo
}

func (p *halPage[T]) decodeBody(data []byte) error {
	items, page, err := decodePage[T](data, p.key)
	p.items, p.page = items, page
	return err
}

var errNotObject = errors.New("expected a JSON object")

// decodePage reads a HAL list in one pass over data: the collection named
// key and the page block are decoded, everything else (_links, other
// embedded collections) is skipped.
func decodePage[T any](data []byte, key string) ([]T, PageInfo, error) {
	var (
		items []T
		page  PageInfo
	)
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := openObject(dec); err != nil {
		return nil, PageInfo{}, fmt.Errorf("page: %w", err)
	}
	for dec.More() {
		name, err := objectKey(dec)
		if err != nil {
			return nil, PageInfo{}, fmt.Errorf("page: %w", err)
		}
		switch name {
		case "_embedded":
			err = decodeEmbedded(dec, key, &items)
		case "page":
			err = dec.Decode(&page)
		default:
			err = skipValue(dec)
		}
		if err != nil {
			return nil, PageInfo{}, fmt.Errorf("page %s: %w", name, err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, PageInfo{}, fmt.Errorf("page: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, PageInfo{}, errors.New("page: data after the top-level object")
	}
	return items, page, nil
}

func decodeEmbedded[T any](dec *json.Decoder, key string, items *[]T) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil { // "_embedded": null
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errNotObject
	}
	for dec.More() {
		name, err := objectKey(dec)
		if err != nil {
			return err
		}
		if name == key {
			err = dec.Decode(items)
		} else {
			err = skipValue(dec)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	_, err = dec.Token()
	return err
}

func openObject(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errNotObject
	}
	return nil
}

func objectKey(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	name, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("unexpected %v where a key belongs", tok)
	}
	return name, nil
}

func skipValue(dec *json.Decoder) error {
	var skip json.RawMessage
	return dec.Decode(&skip)
}

// getPage fetches one page of a list endpoint.
func getPage[T any](ctx context.Context, c *Client, relPath, key string, q map[string][]string) ([]T, *Response, error) {
	p := &halPage[T]{key: key}
	resp, err := c.get(ctx, relPath, q, p)
	if err != nil {
		return nil, resp, err
	}
	resp.Page = p.page
	return p.items, resp, nil
}

// fetchFunc fetches page number page (1-based) of some list.
type fetchFunc[T any] func(ctx context.Context, page int) ([]T, *Response, error)

// walk yields every item of every page from start on. It builds each next
// request itself (page+1, same parameters) rather than trusting _links, and
// stops after an empty page or once the page just read is the last by the
// server's count (page.number >= totalPages, or our own page number >=
// totalPages, so a server that ignores the page parameter cannot loop us).
// The first error is yielded once and ends the walk.
func walk[T any](ctx context.Context, start int, fetch fetchFunc[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		page := max(start, 1)
		for {
			items, resp, err := fetch(ctx, page)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			p := resp.Page
			if len(items) == 0 || p.Number >= p.TotalPages || page >= p.TotalPages {
				return
			}
			page++
		}
	}
}
