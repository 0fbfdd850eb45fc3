package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// Schedule Serverpod's example calls: doOtherWork("1") in an hour (callWithDelay),
// tagged so that it can be cancelled, then cancel everything with that tag.
func Example() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:8080", client.WithToken("a-long-random-token"))
	if err != nil {
		log.Fatal(err)
	}
	call, err := c.Schedule(ctx, abi.ScheduleRequest{
		Plugin:     "example",
		Method:     "doOtherWork",
		Args:       json.RawMessage(`{"data": "1"}`),
		Delay:      "1h",
		Identifier: "an-identifying-string",
	})
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.Code == client.CodeInvalidArguments {
		for _, v := range apiErr.Violations {
			fmt.Printf("args%s: %s\n", v.Pointer, v.Message)
		}
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("call", call.ID, "runs at", call.RunAt)

	n, err := c.CancelIdentifier(ctx, "an-identifying-string")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("cancelled", n.Cancelled, "calls and", n.SeriesStopped, "series")
}

// Walk every waiting call of a plugin, page after page.
func ExampleClient_ListAll() {
	c, err := client.New("http://127.0.0.1:8080")
	if err != nil {
		log.Fatal(err)
	}
	for call, err := range c.ListAll(context.Background(), client.ListOptions{Plugin: "drip"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(call.ID, call.Method, call.RunAt)
	}
}
