package main

import (
	"bytes"
	"strings"
	"testing"
)

const from = "Taskboard <no-reply@example.com>"

func written(t *testing.T, meta map[string]string) string {
	t.Helper()
	msg, err := buildMessage(from, []byte("<p>Hello</p>"), meta)
	if err != nil {
		t.Fatalf("buildMessage: %v", err)
	}
	var out bytes.Buffer
	if _, err := msg.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestTextAndHTMLMakeOneAlternativeWithTheUnsubscribeHeaders(t *testing.T) {
	out := written(t, map[string]string{"emailTo": "ann@example.test", "subject": "Hi", "textBody": "Hello",
		"listUnsubscribe": "https://board.example/unsubscribe/abc"})
	for _, want := range []string{"Content-Type: multipart/alternative", "Content-Type: text/plain",
		"Content-Type: text/html", "List-Unsubscribe: <https://board.example/unsubscribe/abc>",
		"List-Unsubscribe-Post: List-Unsubscribe=One-Click", "To: ann@example.test"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Index(out, "text/plain") > strings.Index(out, "text/html") {
		t.Errorf("the HTML part must come last (preferred)")
	}
}

func TestWithoutTextOrLinkTheMessageIsHTMLAlone(t *testing.T) {
	out := written(t, map[string]string{"emailTo": "ann@example.test", "subject": "Hi"})
	if strings.Contains(out, "multipart") || strings.Contains(out, "List-Unsubscribe") {
		t.Errorf("unexpected part or header in\n%s", out)
	}
}

func TestBadRequestsAreRefused(t *testing.T) {
	for name, meta := range map[string]map[string]string{
		"two recipients":  {"emailTo": "a@example.test, b@example.test", "subject": "Hi"},
		"no recipient":    {"subject": "Hi"},
		"no subject":      {"emailTo": "a@example.test"},
		"header break":    {"emailTo": "a@example.test", "subject": "Hi\r\nBcc: x@example.test"},
		"not a web link":  {"emailTo": "a@example.test", "subject": "Hi", "listUnsubscribe": "mailto:x@example.test"},
		"link with break": {"emailTo": "a@example.test", "subject": "Hi", "listUnsubscribe": "https://x/\r\nBcc: y"},
	} {
		if _, err := buildMessage(from, []byte("<p>x</p>"), meta); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestServerMetadataNeedsHostPortAndSender(t *testing.T) {
	if _, err := parseServer(map[string]string{"host": "mail", "port": "25", "emailFrom": from}); err != nil {
		t.Fatal(err)
	}
	for _, props := range []map[string]string{
		{"port": "25", "emailFrom": from}, {"host": "mail", "port": "x", "emailFrom": from},
		{"host": "mail", "port": "25"}, {"host": "mail", "port": "25", "emailFrom": from, "skipTLSVerify": "maybe"},
	} {
		if _, err := parseServer(props); err == nil {
			t.Errorf("accepted %v", props)
		}
	}
}
