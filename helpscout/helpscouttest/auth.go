package helpscouttest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// handleToken is POST /v2/oauth2/token, client-credentials only. Like the
// live endpoint it wants application/x-www-form-urlencoded (a JSON body is a
// 400) and also accepts HTTP Basic client authentication.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, _ int64) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request",
			"Content-Type must be application/x-www-form-urlencoded")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "unreadable body")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Missing grant type")
		return
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+gt)
		return
	}
	if id == "" || secret == "" {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Bad client credentials")
		return
	}
	if subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1 {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Bad client credentials")
		return
	}
	tok, ttl := s.issueToken()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	// Key order as recorded: token_type, access_token, expires_in.
	b, _ := json.Marshal(struct {
		TokenType   string `json:"token_type"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}{"bearer", tok, int64(ttl / time.Second)})
	writeJSONBytes(w, http.StatusOK, "application/json; charset=utf-8", b)
}

func (s *Server) issueToken() (string, time.Duration) {
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	s.ctl.Lock()
	defer s.ctl.Unlock()
	ttl := s.tokenTTL
	s.tokens[tok] = s.wall().Add(ttl)
	s.stats.TokensIssued++
	return tok, ttl
}

// IssueToken mints a valid access token without an HTTP round trip (and
// without counting a request), for tests that exercise other endpoints.
func (s *Server) IssueToken() string {
	tok, _ := s.issueToken()
	return tok
}

// ExpireTokens invalidates every token issued so far, as when Help Scout
// expires them: the next API call with one of them answers 401.
func (s *Server) ExpireTokens() {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	clear(s.tokens)
}

// SetTokenTTL changes the lifetime (and expires_in) of tokens issued from
// now on.
func (s *Server) SetTokenTTL(d time.Duration) {
	if d <= 0 {
		d = DefaultTokenTTL
	}
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.tokenTTL = d
}

func (s *Server) checkBearer(r *http.Request) (code, desc string, ok bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "unauthorized", "Full authentication is required to access this resource", false
	}
	tok = strings.TrimSpace(tok)
	s.ctl.Lock()
	defer s.ctl.Unlock()
	exp, known := s.tokens[tok]
	if !known || !s.wall().Before(exp) {
		if known {
			delete(s.tokens, tok)
		}
		return "invalid_token", "The access token is invalid or has expired", false
	}
	return "", "", true
}

// writeOAuthError writes the OAuth-style error the token endpoint and the
// gateway use; key order as recorded: error_description, error.
func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	b, _ := json.Marshal(struct {
		Desc string `json:"error_description"`
		Code string `json:"error"`
	}{desc, code})
	writeJSONBytes(w, status, "application/json; charset=utf-8", b)
}
