// A minimal OTLP/HTTP trace receiver for callstream's tests: it decodes each export with the
// OpenTelemetry Collector's own pdata package (JSON or protobuf, as the Content-Type says),
// prints one JSON line per span on stdout, and answers as a collector does.
//
// Usage: otlp-receiver [-listen 127.0.0.1:0]   (prints "listening HOST:PORT" first)
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

type link struct {
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id"`
}

type event struct {
	Name         string         `json:"name"`
	TimeUnixNano uint64         `json:"time_unix_nano"`
	Attributes   map[string]any `json:"attributes"`
}

type span struct {
	ContentType  string         `json:"content_type"`
	Service      string         `json:"service"`
	Scope        string         `json:"scope"`
	Name         string         `json:"name"`
	Kind         string         `json:"kind"`
	TraceID      string         `json:"trace_id"`
	SpanID       string         `json:"span_id"`
	ParentSpanID string         `json:"parent_span_id"`
	Attributes   map[string]any `json:"attributes"`
	Links        []link         `json:"links"`
	Events       []event        `json:"events"`
	Status       string         `json:"status"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	fmt.Fprintf(out, "listening %s\n", ln.Addr())
	out.Flush()
	http.HandleFunc("/v1/traces", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		contentType := r.Header.Get("Content-Type")
		asJSON := strings.HasPrefix(contentType, "application/json")
		req := ptraceotlp.NewExportRequest()
		if asJSON {
			err = req.UnmarshalJSON(body)
		} else {
			err = req.UnmarshalProto(body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		rss := req.Traces().ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			rs := rss.At(i)
			service := ""
			if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
				service = v.AsString()
			}
			sss := rs.ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				ss := sss.At(j)
				spans := ss.Spans()
				for k := 0; k < spans.Len(); k++ {
					s := spans.At(k)
					links := []link{}
					for l := 0; l < s.Links().Len(); l++ {
						ln := s.Links().At(l)
						links = append(links, link{TraceID: ln.TraceID().String(), SpanID: ln.SpanID().String()})
					}
					events := []event{}
					for e := 0; e < s.Events().Len(); e++ {
						ev := s.Events().At(e)
						events = append(events, event{Name: ev.Name(), TimeUnixNano: uint64(ev.Timestamp()), Attributes: ev.Attributes().AsRaw()})
					}
					line, _ := json.Marshal(span{
						ContentType: contentType, Service: service, Scope: ss.Scope().Name(), Name: s.Name(), Kind: s.Kind().String(),
						TraceID: s.TraceID().String(), SpanID: s.SpanID().String(), ParentSpanID: s.ParentSpanID().String(),
						Attributes: s.Attributes().AsRaw(), Links: links, Events: events, Status: s.Status().Code().String(),
					})
					out.Write(line)
					out.WriteString("\n")
				}
			}
		}
		out.Flush()
		mu.Unlock()
		resp := ptraceotlp.NewExportResponse()
		var answer []byte
		if asJSON {
			answer, _ = resp.MarshalJSON()
			w.Header().Set("Content-Type", "application/json")
		} else {
			answer, _ = resp.MarshalProto()
			w.Header().Set("Content-Type", "application/x-protobuf")
		}
		w.Write(answer)
	})
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
