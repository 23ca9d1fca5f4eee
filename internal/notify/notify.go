// Package notify sends messages to people: reminders that a declaration is
// due, notices that a code changed. Messages go through a Sender — an SMS
// gateway in production. No gateway can run here, so the platform ships a
// LogSender that writes each message to the log and keeps the last ones in
// memory for the tests and the admin to see; a real adapter fills the same
// interface.
package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Message is one text to one phone number.
type Message struct {
	To   string    `json:"to"`
	Body string    `json:"body"`
	At   time.Time `json:"at"`
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// LogSender logs every message instead of sending it, keeping the last Keep.
type LogSender struct {
	Log  *slog.Logger
	Keep int

	mu   sync.Mutex
	sent []Message
}

// Send logs m; the phone number is masked in the log.
func (s *LogSender) Send(ctx context.Context, m Message) error {
	if m.At.IsZero() {
		m.At = time.Now()
	}
	masked := m.To
	if len(masked) > 7 {
		masked = masked[:3] + "****" + masked[len(masked)-4:]
	}
	s.Log.InfoContext(ctx, "sms (not sent: no gateway configured)", "to", masked, "body", m.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m)
	if keep := max(s.Keep, 1); len(s.sent) > keep {
		s.sent = s.sent[len(s.sent)-keep:]
	}
	return nil
}

// Sent returns the messages kept, oldest first.
func (s *LogSender) Sent() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.sent...)
}
