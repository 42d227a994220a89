package ocsf

import (
	"math/bits"
	"time"
	"unsafe"
)

// rowBytes estimates the heap a row keeps alive while the writer core stages it (by value, in a
// slice of its class): the struct itself, every object and scalar its pointers reach, the bytes of
// the strings it holds, the backing arrays of its lists and its unmapped map; plus raw, the length
// of the record text the row was mapped from (0 if none). The decoders' strings alias a buffer per
// record (CloudTrail's packed values, a Resolver line) or per chunk of lines (flow logs), and a row
// holding any of them keeps that buffer alive, so the text counts whole. The free-form JSON
// members and unmapped values that alias it count only their headers; the short attribute
// strings aliasing it are counted again, which overcounts by less than the text. The estimate used to be 1 KiB plus the
// free text and undercounted the nested rows about 2× (3× in resident memory): the memory budget
// did not hold. TestRowBytesCoversHeap measures it against the heap for every class.
//
// It walks the row (no reflection): about a tenth of the cost of mapping it.
func rowBytes(r Row, raw int) int64 {
	z := &sizer{n: int64(raw), aliased: raw > 0}
	switch x := r.(type) {
	case *APIActivity:
		z.add(int(unsafe.Sizeof(*x)))
		z.status(x.StatusID, x.Status)
		z.common(x.TimeDT, &x.Metadata, &x.Cloud, x.Observables, x.Unmapped)
		z.actor(&x.Actor)
		z.api(&x.API)
		z.endpoint(&x.SrcEndpoint)
		z.http(x.HTTPRequest)
		z.add(cap(x.Resources) * int(unsafe.Sizeof(ResourceDetails{})))
		for i := range x.Resources {
			d := &x.Resources[i]
			z.str(d.UID)
			z.str(d.Type)
			z.userPtr(d.Owner)
		}
	case *Authentication:
		z.add(int(unsafe.Sizeof(*x)))
		z.status(x.StatusID, x.Status)
		z.common(x.TimeDT, &x.Metadata, &x.Cloud, x.Observables, x.Unmapped)
		z.user(&x.User)
		if x.Actor != nil {
			z.add(int(unsafe.Sizeof(*x.Actor)))
			z.actor(x.Actor)
		}
		z.apiPtr(x.API)
		z.service(x.Service)
		z.endpointPtr(x.SrcEndpoint)
		z.endpointPtr(x.DstEndpoint)
		z.http(x.HTTPRequest)
		z.session(x.Session)
		z.scalar(x.IsMFA != nil)
	case *AccountChange:
		z.add(int(unsafe.Sizeof(*x)))
		z.status(x.StatusID, x.Status)
		z.common(x.TimeDT, &x.Metadata, &x.Cloud, x.Observables, x.Unmapped)
		z.user(&x.User)
		if x.Actor != nil {
			z.add(int(unsafe.Sizeof(*x.Actor)))
			z.actor(x.Actor)
		}
		z.apiPtr(x.API)
		z.endpointPtr(x.SrcEndpoint)
		z.http(x.HTTPRequest)
	case *NetworkActivity:
		z.add(int(unsafe.Sizeof(*x)))
		z.str(x.StatusCode)
		z.common(x.TimeDT, &x.Metadata, &x.Cloud, x.Observables, x.Unmapped)
		z.scalar(x.StartTime != nil)
		z.time(x.StartTimeDT)
		z.scalar(x.EndTime != nil)
		z.time(x.EndTimeDT)
		z.endpoint(&x.SrcEndpoint)
		z.endpoint(&x.DstEndpoint)
		z.conn(x.ConnectionInfo)
		if x.Traffic != nil {
			z.add(int(unsafe.Sizeof(*x.Traffic)))
			z.scalar(x.Traffic.Bytes != nil)
			z.scalar(x.Traffic.Packets != nil)
		}
		z.str(x.Action)
		z.scalar(x.DispositionID != nil)
		z.str(x.Disposition)
	case *DNSActivity:
		z.add(int(unsafe.Sizeof(*x)))
		// A Resolver record's unknown members are a copy of their own, beside the line's text.
		z.aliased = false
		z.common(x.TimeDT, &x.Metadata, &x.Cloud, x.Observables, x.Unmapped)
		z.endpoint(&x.SrcEndpoint)
		z.endpointPtr(x.DstEndpoint)
		if q := x.Query; q != nil {
			z.add(int(unsafe.Sizeof(*q)) + len(q.Hostname))
			z.str(q.Type)
			z.str(q.Class)
		}
		z.add(cap(x.Answers) * int(unsafe.Sizeof(DNSAnswer{})))
		for i := range x.Answers {
			a := &x.Answers[i]
			z.add(len(a.Rdata))
			z.str(a.Type)
			z.str(a.Class)
		}
		z.status(x.RCodeID, x.RCode)
		z.conn(x.ConnectionInfo)
		if x.FirewallRule != nil {
			z.add(int(unsafe.Sizeof(*x.FirewallRule)))
			z.str(x.FirewallRule.UID)
		}
		z.str(x.Action)
		z.status(x.DispositionID, x.Disposition)
	case *DetectionFinding:
		z.add(int(unsafe.Sizeof(*x)))
		z.status(x.StatusID, x.Status)
		z.str(x.Message)
		z.common(x.TimeDT, &x.Metadata, &x.Cloud, x.Observables, x.Unmapped)
		f := &x.FindingInfo
		z.add(len(f.UID) + len(f.Title))
		z.str(f.Desc)
		z.strs(f.Types)
		z.strs(f.DataSources)
		z.scalar(f.CreatedTime != nil)
		z.time(f.CreatedTimeDT)
		if a := f.Analytic; a != nil {
			z.add(int(unsafe.Sizeof(*a)))
			z.str(a.UID)
			z.str(a.Name)
			z.str(a.Type)
		}
		z.add(cap(f.RelatedEvents) * int(unsafe.Sizeof(RelatedEvent{})))
		for _, e := range f.RelatedEvents {
			z.add(len(e.UID))
		}
		z.str(x.RawData)
	}
	return z.n
}

// sizer sums heap bytes. Small allocations are counted at the size class Go rounds them to: a
// *string's header 16 bytes, a *time.Time 24, a scalar 8 (tiny scalars share 16-byte blocks).
// aliased says the row was mapped from a record whose text is counted: its free-form JSON members
// and unmapped values alias that text and cost only their headers.
type sizer struct {
	n       int64
	aliased bool
}

func (z *sizer) add(n int) { z.n += int64(n) }

// text counts a free-form member: its header, and its bytes unless they alias the record's text.
func (z *sizer) text(p *string) {
	if p == nil {
		return
	}
	z.n += 16
	if !z.aliased {
		z.n += int64(len(*p))
	}
}

func (z *sizer) str(p *string) {
	if p != nil {
		z.n += 16 + int64(len(*p))
	}
}

func (z *sizer) scalar(set bool) {
	if set {
		z.n += 8
	}
}

func (z *sizer) time(p *time.Time) {
	if p != nil {
		z.n += 24
	}
}

func (z *sizer) status(id *int32, s *string) {
	z.scalar(id != nil)
	z.str(s)
}

func (z *sizer) strs(ss []string) {
	z.n += int64(cap(ss) * 16)
	for _, s := range ss {
		z.n += int64(len(s))
	}
}

// common sizes what every class has: time_dt, metadata, cloud, observables and unmapped.
func (z *sizer) common(dt *time.Time, m *Metadata, c *Cloud, obs []Observable, um map[string]string) {
	z.time(dt)
	z.add(len(m.Version) + len(m.Product.VendorName))
	z.str(m.Product.Name)
	z.str(m.Product.Version)
	if f := m.Product.Feature; f != nil {
		z.add(int(unsafe.Sizeof(*f)))
		z.str(f.Name)
	}
	z.strs(m.Profiles)
	z.str(m.UID)
	z.str(m.EventCode)
	z.add(len(c.Provider))
	z.str(c.Region)
	z.str(c.Zone)
	z.account(c.Account)
	// An observable's value points at an attribute of the same row (counted there); its type is a
	// string header of its own.
	z.add(cap(obs) * int(unsafe.Sizeof(Observable{})))
	for i := range obs {
		z.add(len(obs[i].Name))
		if obs[i].Type != nil {
			z.add(16)
		}
	}
	z.unmapped(um)
}

func (z *sizer) account(a *Account) {
	if a != nil {
		z.add(int(unsafe.Sizeof(*a)))
		z.str(a.UID)
	}
}

func (z *sizer) user(u *User) {
	z.str(u.UID)
	z.str(u.UIDAlt)
	z.str(u.Name)
	z.str(u.Type)
	z.str(u.CredentialUID)
	z.account(u.Account)
}

func (z *sizer) userPtr(u *User) {
	if u != nil {
		z.add(int(unsafe.Sizeof(*u)))
		z.user(u)
	}
}

func (z *sizer) session(s *Session) {
	if s == nil {
		return
	}
	z.add(int(unsafe.Sizeof(*s)))
	z.scalar(s.CreatedTime != nil)
	z.time(s.CreatedTimeDT)
	z.scalar(s.ExpirationTime != nil)
	z.time(s.ExpirationTimeDT)
	z.scalar(s.IsMFA != nil)
	z.str(s.Issuer)
}

func (z *sizer) actor(a *Actor) {
	z.userPtr(a.User)
	z.session(a.Session)
	z.str(a.InvokedBy)
	if a.IDP != nil {
		z.add(int(unsafe.Sizeof(*a.IDP)))
		z.str(a.IDP.Name)
		z.str(a.IDP.UID)
	}
}

func (z *sizer) service(s *Service) {
	if s != nil {
		z.add(int(unsafe.Sizeof(*s)))
		z.str(s.Name)
	}
}

func (z *sizer) api(a *API) {
	z.add(len(a.Operation))
	z.service(a.Service)
	z.str(a.Version)
	if r := a.Request; r != nil {
		z.add(int(unsafe.Sizeof(*r)) + len(r.UID))
		z.text(r.Data)
	}
	if r := a.Response; r != nil {
		z.add(int(unsafe.Sizeof(*r)))
		z.str(r.Error)
		z.str(r.Message)
		z.text(r.Data)
	}
}

func (z *sizer) apiPtr(a *API) {
	if a != nil {
		z.add(int(unsafe.Sizeof(*a)))
		z.api(a)
	}
}

func (z *sizer) endpoint(e *NetworkEndpoint) {
	z.str(e.IP)
	z.scalar(e.Port != nil)
	z.str(e.Domain)
	z.str(e.Name)
	z.str(e.UID)
	z.str(e.SvcName)
	z.str(e.InstanceUID)
	z.str(e.InterfaceUID)
	z.str(e.SubnetUID)
	z.str(e.VPCUID)
	z.strs(e.IntermediateIPs)
}

func (z *sizer) endpointPtr(e *NetworkEndpoint) {
	if e != nil {
		z.add(int(unsafe.Sizeof(*e)))
		z.endpoint(e)
	}
}

func (z *sizer) http(h *HTTPRequest) {
	if h != nil {
		z.add(int(unsafe.Sizeof(*h)))
		z.str(h.UserAgent)
	}
}

func (z *sizer) conn(c *ConnectionInfo) {
	if c == nil {
		return
	}
	z.add(int(unsafe.Sizeof(*c)))
	z.scalar(c.ProtocolNum != nil)
	z.str(c.ProtocolName)
	z.str(c.ProtocolVer)
	z.scalar(c.ProtocolVerID != nil)
	z.scalar(c.TCPFlags != nil)
	z.str(c.Direction)
	z.str(c.Boundary)
	z.scalar(c.BoundaryID != nil)
}

// unmapped sizes a map[string]string as Go's swiss tables lay it out: a header, and groups of 8
// slots (an 8-byte control word and 8 key/value pairs) filled to at most 7/8; up to 8 entries fit
// one group without a table.
func (z *sizer) unmapped(m map[string]string) {
	n := len(m)
	if n == 0 {
		return
	}
	const header, group = 48, 8 + 8*32
	if n <= 8 {
		z.add(header + 288) // the group's 264 bytes are a 288-byte size class
	} else {
		slots := 1 << bits.Len(uint((n*8+6)/7-1))
		z.add(header + 64 + slots/8*group)
	}
	for k, v := range m {
		z.add(len(k))
		if !z.aliased {
			z.add(len(v))
		}
	}
}
