// Command drip is a drip campaign as a futurecalls plugin: welcome(signup) greets a new
// user and schedules followUp(signup) three days later, tagged "drip-user-<userId>", so
// that signing up again restarts the campaign and unsubscribe(userId) stops it. Build it
// with `make plugins`.
package main

import (
	"encoding/json"
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
	fc.Plugin("drip", "1.0.0")
	fc.Describe("A drip e-mail campaign after a user signs up")
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
	if s.Plan == "pro" {
		fc.Logger().Info(fmt.Sprintf("follow-up e-mail to %s: tips for pro users", s.Email))
	} else {
		fc.Logger().Info(fmt.Sprintf("follow-up e-mail to %s: try the pro plan", s.Email))
	}
	return nil
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
