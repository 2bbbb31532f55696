package main

// What one request becomes: an e-mail to one recipient, multipart/alternative (text, then HTML) when a text
// part is given, with List-Unsubscribe and List-Unsubscribe-Post (RFC 2369, RFC 8058) when a link is given.

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"

	"gopkg.in/gomail.v2"
)

// Request metadata names. emailTo and subject are those of bindings.smtp, so one request suits either binding.
const (
	metaTo          = "emailTo"
	metaSubject     = "subject"
	metaText        = "textBody"
	metaUnsubscribe = "listUnsubscribe"
)

// server is the component's metadata: the same names and meaning as bindings.smtp's.
type server struct {
	Host          string
	Port          int
	User          string
	Password      string
	From          string
	SkipTLSVerify bool
}

// parseServer reads the component metadata; an error names the missing or malformed property.
func parseServer(props map[string]string) (server, error) {
	s := server{Host: props["host"], User: props["user"], Password: props["password"], From: props["emailFrom"]}
	if s.Host == "" {
		return s, errors.New("metadata property host is missing")
	}
	port, err := strconv.Atoi(props["port"])
	if err != nil || port <= 0 || port > 65535 {
		return s, fmt.Errorf("metadata property port is not a port number: %q", props["port"])
	}
	s.Port = port
	if _, err := mail.ParseAddress(s.From); err != nil {
		return s, fmt.Errorf("metadata property emailFrom is not an address: %v", err)
	}
	if v := props["skipTLSVerify"]; v != "" {
		if s.SkipTLSVerify, err = strconv.ParseBool(v); err != nil {
			return s, fmt.Errorf("metadata property skipTLSVerify is not true or false: %q", v)
		}
	}
	return s, nil
}

// oneLine refuses a value that would end a header early.
func oneLine(name, value string) error {
	if strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("%s must be one line", name)
	}
	return nil
}

// buildMessage composes the e-mail of one request; an error says what in the request is wrong.
func buildMessage(from string, html []byte, meta map[string]string) (*gomail.Message, error) {
	to, subject, text, unsubscribe := meta[metaTo], meta[metaSubject], meta[metaText], meta[metaUnsubscribe]
	for name, value := range map[string]string{metaTo: to, metaSubject: subject, metaUnsubscribe: unsubscribe} {
		if err := oneLine(name, value); err != nil {
			return nil, err
		}
	}
	recipient, err := mail.ParseAddress(to)
	if err != nil || strings.ContainsAny(to, ",;") {
		return nil, fmt.Errorf("%s must be exactly one address: %q", metaTo, to)
	}
	if strings.TrimSpace(subject) == "" {
		return nil, fmt.Errorf("%s is missing", metaSubject)
	}
	if len(html) == 0 {
		return nil, errors.New("the request data (the HTML part) is empty")
	}
	msg := gomail.NewMessage()
	msg.SetHeader("From", from)
	msg.SetHeader("To", recipient.Address)
	msg.SetHeader("Subject", subject)
	msg.SetHeader("Message-ID", messageID(from))
	if unsubscribe != "" {
		link, err := url.Parse(unsubscribe)
		if err != nil || (link.Scheme != "https" && link.Scheme != "http") || link.Host == "" {
			return nil, fmt.Errorf("%s must be an http(s) URL: %q", metaUnsubscribe, unsubscribe)
		}
		msg.SetHeader("List-Unsubscribe", "<"+link.String()+">")
		msg.SetHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	if text != "" {
		msg.SetBody("text/plain", text)
		msg.AddAlternative("text/html", string(html)) // the last part is the preferred one (RFC 2046)
	} else {
		msg.SetBody("text/html", string(html))
	}
	return msg, nil
}

// messageID is a new Message-ID in the sender's domain.
func messageID(from string) string {
	domain := "localhost"
	if addr, err := mail.ParseAddress(from); err == nil {
		if at := strings.LastIndex(addr.Address, "@"); at >= 0 {
			domain = addr.Address[at+1:]
		}
	}
	random := make([]byte, 16)
	_, _ = rand.Read(random)
	return "<" + hex.EncodeToString(random) + "@" + domain + ">"
}
