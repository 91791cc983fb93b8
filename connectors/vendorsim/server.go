package vendorsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// ServerOptions configures NewServer. Seed and Members are copied into the
// sub-simulator options (overriding theirs); everything else is passed
// through as given.
type ServerOptions struct {
	Seed    int64
	Members int // DM Hub member count (default 200)
	// Now is the clock shared by all simulators when their own Now is nil.
	Now       func() time.Time
	DMHub     DMHubOptions
	Houcaller HoucallerOptions
	Zvcms     ZvcmsOptions
	// ShareMobiles gives each zvcms customer the mobile of the DM Hub
	// member whose c_zvcms_id it is (when that member has one), unless
	// Zvcms.Mobiles is set: the same people in both vendors, as a join
	// across sources needs.
	ShareMobiles bool
}

// Server serves all simulators under one mux:
//
//	/dmhub/...           DM Hub (base_url http://host:port/dmhub)
//	/houcaller/htest/... Houcaller (base_url http://host:port/houcaller/htest)
//	/zvcms/...           zvcms (base_url http://host:port/zvcms)
//	POST /_sim/mutate    admin mutations (JSON, see MutateRequest)
//	GET  /_sim/healthz   "ok"
//	GET  /_sim/requests  request counters of every simulator (JSON)
//	GET  /_sim/faults    injected faults of every simulator (JSON FaultStats)
//
// The sub-simulators are exported so tests can read their ground truth.
type Server struct {
	DMHub     *DMHub
	Houcaller *Houcaller
	Zvcms     *Zvcms
	mux       *http.ServeMux
}

// NewServer builds the three simulators from one seed. The Houcaller
// members are the DM Hub members' c_houcaller_id values and the zvcms
// customers their c_zvcms_id values, unless the options list their own.
func NewServer(opts ServerOptions) *Server {
	d := opts.DMHub
	d.Seed, d.Members = opts.Seed, opts.Members
	if d.Now == nil {
		d.Now = opts.Now
	}
	s := &Server{DMHub: NewDMHub(d)}

	ho := opts.Houcaller
	ho.Seed = opts.Seed
	if ho.Now == nil {
		ho.Now = opts.Now
	}
	if ho.MemberIDs == nil {
		ho.MemberIDs = s.DMHub.HoucallerIDs()
	}
	s.Houcaller = NewHoucaller(ho)

	zo := opts.Zvcms
	zo.Seed = opts.Seed
	if zo.Now == nil {
		zo.Now = opts.Now
	}
	if zo.CustomerIDs == nil {
		zo.CustomerIDs = s.DMHub.ZvcmsIDs()
	}
	if opts.ShareMobiles && zo.Mobiles == nil {
		zo.Mobiles = map[string]string{}
		for _, m := range s.DMHub.Members() {
			if m.ZvcmsID != "" && m.Mobile != "" {
				zo.Mobiles[m.ZvcmsID] = m.Mobile
			}
		}
	}
	s.Zvcms = NewZvcms(zo)

	m := http.NewServeMux()
	m.Handle("/dmhub/", http.StripPrefix("/dmhub", s.DMHub))
	m.Handle("/houcaller/htest/", http.StripPrefix("/houcaller/htest", s.Houcaller))
	m.Handle("/zvcms/", http.StripPrefix("/zvcms", s.Zvcms))
	m.HandleFunc("POST /_sim/mutate", s.handleMutate)
	m.HandleFunc("GET /_sim/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	m.HandleFunc("GET /_sim/requests", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]map[string]int64{
			"dmhub": s.DMHub.Requests(), "houcaller": s.Houcaller.Requests(), "zvcms": s.Zvcms.Requests(),
		})
	})
	m.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	s.mux = m
	return s
}

// Faults returns the injected-fault counts of each simulator, keyed
// "dmhub", "houcaller" and "zvcms".
func (s *Server) Faults() map[string]FaultStats {
	return map[string]FaultStats{"dmhub": s.DMHub.Faults(), "houcaller": s.Houcaller.Faults(), "zvcms": s.Zvcms.Faults()}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// MutateRequest is the body of POST /_sim/mutate. Vendor defaults to
// "dmhub". Ops:
//
//	dmhub:     update_member {member_id}, create_members {count},
//	           add_point {member_id, delta, pattern}, add_exp {member_id, delta},
//	           draw_coupon {member_id}, redeem_coupon {coupon_code},
//	           dispatch_coupon {member_id}, level_up {member_id}, level_down {member_id},
//	           revoke_token {}, reset_requests {}
//	houcaller: issue_coupon {member_id}, use_coupon {coupon_code},
//	           add_score {member_id, delta}, reset_requests {}
//	zvcms:     issue_coupon {member_id}, use_coupon {coupon_code},
//	           add_points {member_id, delta}, reset_requests {}
//	every one: set_hostile {mode} (a Hostile mode; "" or "none" ends it)
//
// The answer is {"ok":true,"result":<ground-truth value>} (Go field names)
// or HTTP 400 {"ok":false,"error":"…"}.
type MutateRequest struct {
	Vendor     string `json:"vendor"`
	Op         string `json:"op"`
	MemberID   string `json:"member_id"`
	Count      int    `json:"count"`
	Delta      int64  `json:"delta"`
	Pattern    int    `json:"pattern"`
	CouponCode string `json:"coupon_code"`
	Mode       string `json:"mode"`
}

// errUnknownOp reports an unsupported mutate op.
var errUnknownOp = errors.New("unknown op")

// Mutate applies one MutateRequest (the Go form of POST /_sim/mutate).
func (s *Server) Mutate(req MutateRequest) (any, error) {
	if req.Op == "set_hostile" {
		mode, err := ParseHostile(req.Mode)
		if err != nil {
			return nil, err
		}
		switch req.Vendor {
		case "", "dmhub":
			s.DMHub.SetHostile(mode)
		case "houcaller":
			s.Houcaller.SetHostile(mode)
		case "zvcms":
			s.Zvcms.SetHostile(mode)
		default:
			return nil, fmt.Errorf("unknown vendor %q", req.Vendor)
		}
		return struct{}{}, nil
	}
	switch req.Vendor {
	case "", "dmhub":
		return s.mutateDMHub(req)
	case "houcaller":
		return s.Houcaller.mutate(req)
	case "zvcms":
		return s.Zvcms.mutate(req)
	}
	return nil, fmt.Errorf("unknown vendor %q", req.Vendor)
}

func (s *Server) mutateDMHub(req MutateRequest) (any, error) {
	h := s.DMHub
	switch req.Op {
	case "update_member":
		return h.UpdateMember(req.MemberID)
	case "create_members":
		if req.Count <= 0 || req.Count > 10000 {
			return nil, fmt.Errorf("count %d out of range 1..10000", req.Count)
		}
		return h.CreateMembers(req.Count), nil
	case "add_point":
		return h.AddPointRecord(req.MemberID, req.Delta, req.Pattern)
	case "add_exp":
		return h.AddExpRecord(req.MemberID, req.Delta)
	case "draw_coupon":
		return h.DrawCoupon(req.MemberID)
	case "redeem_coupon":
		return h.RedeemCoupon(req.CouponCode)
	case "dispatch_coupon":
		return h.DispatchCoupon(req.MemberID)
	case "level_up", "level_down":
		return h.ChangeLevel(req.MemberID, req.Op == "level_up")
	case "revoke_token":
		h.RevokeToken()
		return struct{}{}, nil
	case "reset_requests":
		h.ResetRequests()
		return struct{}{}, nil
	}
	return nil, fmt.Errorf("dmhub: %w %q", errUnknownOp, req.Op)
}

func (s *Server) handleMutate(w http.ResponseWriter, r *http.Request) {
	var req MutateRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error": "bad request body: " + err.Error()})
		return
	}
	res, err := s.Mutate(req)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": res})
}
