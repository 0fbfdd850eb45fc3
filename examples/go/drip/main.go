// Command drip is a drip campaign as a futurecalls plugin: welcome(signup) greets a new
// user and schedules followUp(signup) three days later, tagged "drip-user-<userId>", so
// that signing up again restarts the campaign and unsubscribe(userId) stops it. Build it
// with `make plugins`.
//
// The follow-up is an e-mail sent through a mail API when the operator configures one
// and allows the plugin to reach it (the README, Granting access):
//
//	sandbox:
//	  plugins:
//	    drip:
//	      http: {allow: ["https://api.mail.example"]}
//	      config:
//	        mailUrl: https://api.mail.example/v1/send
//	        mailToken: env:MAIL_TOKEN
//	        from: noreply@example.com
//
// Without mailUrl it logs the e-mail instead. The plugin's state records the e-mail sent
// to each user, under "mailed-<userId>", committed with the call's success: a user gets
// one follow-up however often they sign up.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	fc "github.com/futurecalls/futurecalls/sdk/go"
)

// Signup is the record every call of the campaign carries.
type Signup struct {
	UserID int64  `json:"userId"`
	Email  string `json:"email"`
	Plan   Plan   `json:"plan"`
}

// Plan is a user's subscription plan.
type Plan string

// JSONSchema restricts plans to the known ones; the host then refuses any other.
func (Plan) JSONSchema() json.RawMessage {
	return json.RawMessage(`{"type": "string", "enum": ["free", "pro"]}`)
}

// followUpDelay is how long after the welcome the follow-up comes.
const followUpDelay = 3 * 24 * time.Hour

func init() {
	fc.Plugin("drip", "1.1.0")
	fc.Describe("A drip e-mail campaign after a user signs up")
	// A mail API that fails now and then costs a retry, not the e-mail; the host sends
	// the same Idempotency-Key on each attempt, so the API sends it once.
	fc.DefaultRetry(fc.RetryPolicy{MaxAttempts: 3, Backoff: "1s"})
	fc.Register("welcome", welcome, "signup", "note").Describe("greets a new user and starts the campaign")
	fc.Register("followUp", followUp, "signup").Describe("the campaign's follow-up e-mail")
	fc.Register("unsubscribe", unsubscribe, "userId").Describe("stops the campaign of a user")
}

// identifier tags every pending call of a user's campaign.
func identifier(userID int64) string { return fmt.Sprintf("drip-user-%d", userID) }

func welcome(c fc.Call, s Signup, note *string) error {
	line := fmt.Sprintf("welcome e-mail to %s (user %d, plan %s)", s.Email, s.UserID, s.Plan)
	if note != nil {
		line += ": " + *note
	}
	fc.Logger().Info(line)
	// Signing up again restarts the campaign: cancel-then-schedule replaces the series.
	if _, err := fc.Cancel(identifier(s.UserID)); err != nil {
		return err
	}
	return fc.Schedule(fc.Request{
		Method:     "followUp",
		Args:       fc.Args{"signup": s},
		Delay:      followUpDelay,
		Identifier: identifier(s.UserID),
	})
}

func followUp(c fc.Call, s Signup) error {
	subject := "try the pro plan"
	if s.Plan == "pro" {
		subject = "tips for pro users"
	}
	url, err := fc.Config("mailUrl")
	if errors.Is(err, fc.ErrNotFound) {
		fc.Logger().Info(fmt.Sprintf("follow-up e-mail to %s: %s", s.Email, subject))
		return nil
	}
	if err != nil {
		return err
	}
	// One follow-up per user, however often they sign up. (A retried attempt needs no
	// check: the host sends its request with the first attempt's Idempotency-Key.)
	key := fmt.Sprintf("mailed-%d", s.UserID)
	var m mailed
	if _, err := fc.GetJSON(key, &m); err != nil {
		return err
	}
	if m.Count > 0 {
		fc.Logger().Info(fmt.Sprintf("follow-up e-mail to %s already sent by call %d: skipped", s.Email, m.LastCall))
		return nil
	}
	if err := sendMail(url, s.Email, subject); err != nil {
		return err
	}
	// Committed only if this call succeeds, together with its outcome.
	return fc.PutJSON(key, mailed{Count: m.Count + 1, LastCall: c.ID})
}

// mail is the body the mail API takes.
type mail struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// sendMail posts one e-mail to the mail API at url, with the configured sender and
// token.
func sendMail(url, to, subject string) error {
	from, err := optionalConfig("from", "noreply@example.com")
	if err != nil {
		return err
	}
	token, err := optionalConfig("mailToken", "")
	if err != nil {
		return err
	}
	body, err := json.Marshal(mail{From: from, To: to, Subject: subject, Text: "Hello from the drip campaign: " + subject + "."})
	if err != nil {
		return err
	}
	headers := map[string]string{"Content-Type": "application/json"}
	if token != "" {
		headers["Authorization"] = "Bearer " + token
	}
	resp, err := fc.HTTP(fc.HTTPRequest{Method: "POST", URL: url, Headers: headers, Body: string(body)})
	if err != nil {
		return err
	}
	if resp.Status < 200 || resp.Status > 299 {
		return fmt.Errorf("mail API answered %d", resp.Status)
	}
	fc.Logger().Info(fmt.Sprintf("follow-up e-mail to %s sent: %s", to, subject))
	return nil
}

// mailed is what the plugin's state keeps per user.
type mailed struct {
	Count    int   `json:"count"`
	LastCall int64 `json:"lastCall"`
}

// optionalConfig is the configuration value of key, or def when the operator set none.
func optionalConfig(key, def string) (string, error) {
	v, err := fc.Config(key)
	if errors.Is(err, fc.ErrNotFound) {
		return def, nil
	}
	return v, err
}

func unsubscribe(c fc.Call, userID int64) error {
	n, err := fc.Cancel(identifier(userID))
	if err != nil {
		return err
	}
	fc.Logger().Info(fmt.Sprintf("unsubscribed user %d: %d pending e-mails cancelled", userID, n))
	return nil
}

func main() {}
