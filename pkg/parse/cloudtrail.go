package parse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
	"unsafe"
)

// cloudTrailDecoder streams the Records array of a CloudTrail log file. It holds one record (plus
// read-ahead) in memory, never the document.
type cloudTrailDecoder struct {
	badRecords
	obj        Object
	src        Source
	w          *window
	state      ctState
	sawRecords bool
	index      int64
	err        error
	spans      []span     // scratch for decode
	res        []Resource // with reuse, the array ev.Resources is decoded into
	reuse      bool       // Decoders.ReuseRecords: every record is decoded into one
	one        ctBundle
}

type ctState uint8

const (
	ctStart       ctState = iota // before the envelope's '{'
	ctFirstMember                // after '{'
	ctKey                        // at a member name
	ctAfterMember                // after a member's value
	ctRecord                     // at a record, or the ']' of an empty array
	ctAfterRecord                // after a record
	ctTail                       // after the envelope
)

// reset readies d for an object read through w, keeping only scratch space from the last one.
func (d *cloudTrailDecoder) reset(obj Object, src Source, w *window, opts Options, reuse bool) *cloudTrailDecoder {
	*d = cloudTrailDecoder{obj: obj, src: src, w: w, spans: d.spans[:0], res: d.res[:0], reuse: reuse}
	d.keep = opts.MaxBadRecordErrors
	return d
}

// ctBundle holds a record's nested structs in one allocation.
type ctBundle struct {
	ev  CloudTrailEvent
	ui  UserIdentity
	obo OnBehalfOf
	sc  SessionContext
	si  SessionIssuer
	add Addendum
	tls TLSDetails
}

func (d *cloudTrailDecoder) Next(rec *Record) error {
	if d.err != nil {
		return d.err
	}
	for {
		w := d.w
		c := cursor{b: w.buf[w.pos:w.end]}
		done, err := d.step(&c, rec)
		if err == nil {
			w.pos += c.i
			if done {
				return nil
			}
			continue
		}
		if err == errShort {
			ferr := w.fill()
			if ferr == nil {
				continue
			}
			if ferr == io.EOF {
				if d.state == ctTail {
					d.err = io.EOF
				} else {
					d.err = d.obj.newError(ErrTruncated, w.offset(w.end), 0,
						errors.New("JSON document ends before the Records array is closed"))
				}
				return d.err
			}
			d.err = d.obj.asError(ferr, nil, w.offset(w.end))
			return d.err
		}
		d.err = d.fatal(err, w.pos)
		return d.err
	}
}

func (d *cloudTrailDecoder) fatal(err error, base int) error {
	var se *syntaxError
	if errors.As(err, &se) {
		return d.obj.newError(ErrSyntax, d.w.offset(base+se.off), 0, err)
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return d.obj.newError(ErrSyntax, d.w.offset(base), 0, err)
}

// step advances the envelope state machine by one token or one record; done is true when rec was
// filled. On errShort nothing is consumed: the caller reads more and calls again.
func (d *cloudTrailDecoder) step(c *cursor, rec *Record) (done bool, err error) {
	switch d.state {
	case ctStart:
		if err := c.expect('{'); err != nil {
			return false, err
		}
		d.state = ctFirstMember
	case ctFirstMember:
		if c.peek() == 0 {
			return false, errShort
		}
		if c.b[c.i] == '}' {
			c.i++
			d.state = ctAfterMember
			return false, d.endEnvelope()
		}
		d.state = ctKey
	case ctKey:
		k, err := c.key()
		if err != nil {
			return false, err
		}
		if string(k) != "Records" {
			// Unknown envelope members are tolerated and ignored.
			if _, _, err := c.skip(); err != nil {
				return false, err
			}
			d.state = ctAfterMember
			return false, nil
		}
		d.sawRecords = true
		switch c.peek() {
		case '[':
			c.i++
			d.state = ctRecord
		case 'n':
			if err := c.literal("null"); err != nil {
				return false, err
			}
			d.state = ctAfterMember
		case 0:
			return false, errShort
		default:
			return false, c.synErr("Records is not an array")
		}
	case ctAfterMember:
		more, err := c.next('}')
		if err != nil {
			return false, err
		}
		if more {
			d.state = ctKey
			return false, nil
		}
		return false, d.endEnvelope()
	case ctRecord:
		switch c.peek() {
		case 0:
			return false, errShort
		case ']':
			c.i++
			d.state = ctAfterMember
			return false, nil
		case '{':
		default:
			return false, c.synErr("a Records element is not an object")
		}
		// One pass: the record is decoded straight from the buffer. Should the buffer end inside
		// it (errShort), nothing is consumed; the caller reads more and the record is decoded again.
		start := c.i
		ev, err := d.decode(c)
		if err == errShort {
			return false, err
		}
		if err != nil {
			var sh *shapeError
			if errors.As(err, &sh) {
				d.state = ctAfterRecord
				idx := d.index
				d.index++
				d.add(d.obj.newError(ErrBadRecord, d.w.offset(d.w.pos+sh.off), 0,
					fmt.Errorf("record %d: %w", idx, err)))
				return false, nil
			}
			return false, err
		}
		raw := c.b[start:c.i:c.i]
		d.state = ctAfterRecord
		idx := d.index
		d.index++
		src := d.src
		if ev.EventType == "AwsCloudTrailInsight" || ev.EventCategory == "Insight" {
			src = SourceInsight
		}
		*rec = Record{Source: src, Index: idx, Raw: raw, CloudTrail: ev}
		return true, nil
	case ctAfterRecord:
		more, err := c.next(']')
		if err != nil {
			return false, err
		}
		if more {
			if c.peek() == ']' {
				return false, c.synErr("trailing comma in Records")
			}
			d.state = ctRecord
		} else {
			d.state = ctAfterMember
		}
	case ctTail:
		c.ws()
		if c.i < len(c.b) {
			return false, d.obj.newError(ErrTrailingData, d.w.offset(d.w.pos+c.i), 0,
				errors.New("bytes after the end of the JSON document"))
		}
		return false, errShort
	}
	return false, nil
}

func (d *cloudTrailDecoder) endEnvelope() error {
	d.state = ctTail
	if !d.sawRecords {
		return d.obj.newError(ErrUnknownFormat, d.w.offset(d.w.pos), 0,
			errors.New("JSON object has no Records member: not a CloudTrail log file"))
	}
	return nil
}

// decode decodes the record at c.i, which is a '{', leaving c.i after it. Strings and free-form
// members are noted as spans while the record is walked and made into values at the end, when the
// record's extent is known: one string copy of the record for all strings, one []byte copy for all
// free-form members.
func (d *cloudTrailDecoder) decode(c *cursor) (*CloudTrailEvent, error) {
	start := c.i
	c.deferred = true
	c.spans = d.spans[:0]
	defer func() { d.spans = c.spans[:0] }()
	b := target(d.reuse, &d.one)
	ev := &b.ev
	if d.reuse {
		// Reused like the record (Decoders.ReuseRecords): one array less per record.
		ev.Resources = d.res[:0]
		defer func() {
			if d.res = ev.Resources[:0]; len(ev.Resources) == 0 {
				ev.Resources = nil
			}
		}()
	}
	var shape error // the first shape error; the record is still walked to its end
	empty, err := c.objectStart()
	if err != nil {
		return nil, err
	}
	for !empty {
		k, err := c.key()
		if err != nil {
			return nil, err
		}
		switch string(k) {
		case "eventVersion":
			err = c.strTo(&ev.EventVersion, "eventVersion")
		case "userIdentity":
			var present bool
			present, err = d.userIdentity(c, b)
			if present {
				ev.UserIdentity = &b.ui
			}
		case "eventTime":
			var t []byte
			at := c.i
			if t, err = c.strBytes("eventTime"); err == nil && len(t) > 0 {
				if ev.EventTime, err = parseTime(t); err != nil {
					err = &shapeError{off: at, field: "eventTime", msg: err.Error()}
				}
			}
		case "eventSource":
			err = c.strTo(&ev.EventSource, "eventSource")
		case "eventName":
			err = c.strTo(&ev.EventName, "eventName")
		case "awsRegion":
			err = c.strTo(&ev.AWSRegion, "awsRegion")
		case "sourceIPAddress":
			err = c.strTo(&ev.SourceIPAddress, "sourceIPAddress")
		case "userAgent":
			err = c.strTo(&ev.UserAgent, "userAgent")
		case "errorCode":
			err = c.strTo(&ev.ErrorCode, "errorCode")
		case "errorMessage":
			err = c.strTo(&ev.ErrorMessage, "errorMessage")
		case "requestParameters":
			err = c.rawTo(&ev.RequestParameters)
		case "responseElements":
			err = c.rawTo(&ev.ResponseElements)
		case "additionalEventData":
			err = c.rawTo(&ev.AdditionalEvent)
		case "requestID":
			err = c.strTo(&ev.RequestID, "requestID")
		case "eventID":
			err = c.strTo(&ev.EventID, "eventID")
		case "readOnly":
			ev.ReadOnly, err = c.optBool("readOnly")
		case "resources":
			err = resources(c, ev)
		case "eventType":
			err = c.strTo(&ev.EventType, "eventType")
		case "apiVersion":
			err = c.strTo(&ev.APIVersion, "apiVersion")
		case "recipientAccountId":
			err = c.strTo(&ev.RecipientAccountID, "recipientAccountId")
		case "sharedEventID":
			err = c.strTo(&ev.SharedEventID, "sharedEventID")
		case "vpcEndpointId":
			err = c.strTo(&ev.VPCEndpointID, "vpcEndpointId")
		case "vpcEndpointAccountId":
			err = c.strTo(&ev.VPCEndpointAccount, "vpcEndpointAccountId")
		case "serviceEventDetails":
			err = c.rawTo(&ev.ServiceEventDetail)
		case "managementEvent":
			ev.ManagementEvent, err = c.optBool("managementEvent")
		case "eventCategory":
			err = c.strTo(&ev.EventCategory, "eventCategory")
		case "addendum":
			var present bool
			present, err = objectMembers(c, "addendum", func(k []byte) error {
				var err error
				switch string(k) {
				case "reason":
					err = c.strTo(&b.add.Reason, "addendum.reason")
				case "updatedFields":
					err = c.strTo(&b.add.UpdatedFields, "addendum.updatedFields")
				case "originalRequestID":
					err = c.strTo(&b.add.OriginalRequestID, "addendum.originalRequestID")
				case "originalEventID":
					err = c.strTo(&b.add.OriginalEventID, "addendum.originalEventID")
				default:
					_, _, err = c.skip()
				}
				return err
			})
			if present {
				ev.Addendum = &b.add
			}
		case "sessionCredentialFromConsole":
			err = c.strTo(&ev.SessionCredentialFromConsole, "sessionCredentialFromConsole")
		case "edgeDeviceDetails":
			err = c.rawTo(&ev.EdgeDeviceDetails)
		case "tlsDetails":
			var present bool
			present, err = objectMembers(c, "tlsDetails", func(k []byte) error {
				var err error
				switch string(k) {
				case "tlsVersion":
					err = c.strTo(&b.tls.TLSVersion, "tlsDetails.tlsVersion")
				case "cipherSuite":
					err = c.strTo(&b.tls.CipherSuite, "tlsDetails.cipherSuite")
				case "clientProvidedHostHeader":
					err = c.strTo(&b.tls.ClientProvidedHostHeader, "tlsDetails.clientProvidedHostHeader")
				default:
					_, _, err = c.skip()
				}
				return err
			})
			if present {
				ev.TLSDetails = &b.tls
			}
		case "eventContext":
			err = c.rawTo(&ev.EventContext)
		case "insightDetails":
			err = c.rawTo(&ev.InsightDetails)
		default:
			_, _, err = c.skip()
		}
		if err := keepShape(err, &shape); err != nil {
			return nil, err
		}
		more, err := c.next('}')
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	if shape != nil {
		return nil, shape
	}
	raw := c.b[start:c.i]
	// One check per record; only a record holding invalid UTF-8 pays for replacing it, value by
	// value.
	fix := !utf8.Valid(raw)
	if fix {
		d.fixed++
	}
	// The values are packed into one allocation the record owns: only their bytes are copied, not
	// the member names and punctuation between them (a third of a CloudTrail record), and the
	// json.RawMessage members are not copied twice. Strings alias the buffer through unsafe.String;
	// that is sound because no two values share bytes and each RawMessage is capped at its own
	// length, so writing through a RawMessage (which its owner may do) cannot reach a string.
	total := 0
	for i := range c.spans {
		if sp := &c.spans[i]; sp.a >= 0 {
			total += sp.b - sp.a
		}
	}
	own := make([]byte, total)
	off := 0
	for i := range c.spans {
		sp := &c.spans[i]
		v := sp.val
		if sp.a >= 0 {
			n := copy(own[off:], c.b[sp.a:sp.b])
			val := own[off : off+n : off+n]
			off += n
			if sp.raw != nil {
				*sp.raw = val
				if fix && !utf8.Valid(val) {
					*sp.raw = bytes.ToValidUTF8(val, []byte("\uFFFD"))
				}
				continue
			}
			v = ""
			if n > 0 {
				v = unsafe.String(&val[0], n)
			}
		}
		if fix {
			v = validUTF8(v)
		}
		switch {
		case sp.str != nil:
			*sp.str = v
		case sp.fld == resARN:
			ev.Resources[sp.res].ARN = v
		case sp.fld == resAccountID:
			ev.Resources[sp.res].AccountID = v
		default:
			ev.Resources[sp.res].Type = v
		}
	}
	return ev, nil
}

// Resource fields, for spans that target ev.Resources[i] (the slice may move while it grows).
const (
	resARN uint8 = iota
	resAccountID
	resType
)

// objectMembers calls member for each member of an object value; null reads as absent. Any other
// type is a shape error.
func objectMembers(c *cursor, field string, member func(k []byte) error) (present bool, err error) {
	switch c.peek() {
	case 'n':
		return false, c.literal("null")
	case '{':
	case 0:
		return false, errShort
	default:
		return false, c.wrongType(field, "an object")
	}
	if err := c.enter(); err != nil {
		return false, err
	}
	defer func() { c.depth-- }()
	empty, err := c.objectStart()
	if err != nil || empty {
		return err == nil, err
	}
	var shape error
	for {
		k, err := c.key()
		if err != nil {
			return false, err
		}
		if err := keepShape(member(k), &shape); err != nil {
			return false, err
		}
		more, err := c.next('}')
		if err != nil {
			return false, err
		}
		if !more {
			return true, shape
		}
	}
}

func (d *cloudTrailDecoder) userIdentity(c *cursor, b *ctBundle) (bool, error) {
	ui := &b.ui
	return objectMembers(c, "userIdentity", func(k []byte) error {
		var err error
		switch string(k) {
		case "type":
			err = c.strTo(&ui.Type, "userIdentity.type")
		case "principalId":
			err = c.strTo(&ui.PrincipalID, "userIdentity.principalId")
		case "arn":
			err = c.strTo(&ui.ARN, "userIdentity.arn")
		case "accountId":
			err = c.strTo(&ui.AccountID, "userIdentity.accountId")
		case "accessKeyId":
			err = c.strTo(&ui.AccessKeyID, "userIdentity.accessKeyId")
		case "userName":
			err = c.strTo(&ui.UserName, "userIdentity.userName")
		case "invokedBy":
			err = c.strTo(&ui.InvokedBy, "userIdentity.invokedBy")
		case "identityProvider":
			err = c.strTo(&ui.IdentityProvider, "userIdentity.identityProvider")
		case "credentialId":
			err = c.strTo(&ui.CredentialID, "userIdentity.credentialId")
		case "inScopeOf":
			err = c.rawTo(&ui.InScopeOf)
		case "onBehalfOf":
			var present bool
			present, err = objectMembers(c, "userIdentity.onBehalfOf", func(k []byte) error {
				var err error
				switch string(k) {
				case "userId":
					err = c.strTo(&b.obo.UserID, "onBehalfOf.userId")
				case "identityStoreArn":
					err = c.strTo(&b.obo.IdentityStoreARN, "onBehalfOf.identityStoreArn")
				default:
					_, _, err = c.skip()
				}
				return err
			})
			if present {
				ui.OnBehalfOf = &b.obo
			}
		case "sessionContext":
			var present bool
			present, err = d.sessionContext(c, b)
			if present {
				ui.SessionContext = &b.sc
			}
		default:
			_, _, err = c.skip()
		}
		return err
	})
}

func (d *cloudTrailDecoder) sessionContext(c *cursor, b *ctBundle) (bool, error) {
	sc := &b.sc
	return objectMembers(c, "sessionContext", func(k []byte) error {
		var err error
		switch string(k) {
		case "attributes":
			_, err = objectMembers(c, "sessionContext.attributes", func(k []byte) error {
				var err error
				switch string(k) {
				case "mfaAuthenticated":
					err = c.strTo(&sc.MFAAuthenticated, "attributes.mfaAuthenticated")
				case "creationDate":
					err = c.strTo(&sc.CreationDate, "attributes.creationDate")
				default:
					_, _, err = c.skip()
				}
				return err
			})
		case "sessionIssuer":
			var present bool
			si := &b.si
			present, err = objectMembers(c, "sessionContext.sessionIssuer", func(k []byte) error {
				var err error
				switch string(k) {
				case "type":
					err = c.strTo(&si.Type, "sessionIssuer.type")
				case "principalId":
					err = c.strTo(&si.PrincipalID, "sessionIssuer.principalId")
				case "arn":
					err = c.strTo(&si.ARN, "sessionIssuer.arn")
				case "accountId":
					err = c.strTo(&si.AccountID, "sessionIssuer.accountId")
				case "userName":
					err = c.strTo(&si.UserName, "sessionIssuer.userName")
				default:
					_, _, err = c.skip()
				}
				return err
			})
			if present {
				sc.SessionIssuer = si
			}
		case "webIdFederationData":
			err = c.rawTo(&sc.WebIDFederationData)
		case "sourceIdentity":
			err = c.strTo(&sc.SourceIdentity, "sessionContext.sourceIdentity")
		case "ec2RoleDelivery":
			err = c.strTo(&sc.EC2RoleDelivery, "sessionContext.ec2RoleDelivery")
		case "ec2IssuedInVpc":
			err = c.strTo(&sc.EC2IssuedInVPC, "sessionContext.ec2IssuedInVpc")
		default:
			_, _, err = c.skip()
		}
		return err
	})
}

// resources decodes the resources array into ev.Resources (nil when empty or null).
func resources(c *cursor, ev *CloudTrailEvent) error {
	switch c.peek() {
	case 'n':
		return c.literal("null")
	case '[':
	case 0:
		return errShort
	default:
		return c.wrongType("resources", "an array")
	}
	c.i++
	if c.peek() == ']' {
		c.i++
		return nil
	}
	var shape error
	for {
		ev.Resources = append(ev.Resources, Resource{})
		res := int32(len(ev.Resources) - 1)
		if _, err := objectMembers(c, "resources[]", func(k []byte) error {
			var err error
			switch string(k) {
			case "ARN", "arn":
				err = c.deferStr(span{res: res, fld: resARN}, "resources.ARN")
			case "accountId":
				err = c.deferStr(span{res: res, fld: resAccountID}, "resources.accountId")
			case "type":
				err = c.deferStr(span{res: res, fld: resType}, "resources.type")
			default:
				_, _, err = c.skip()
			}
			return err
		}); keepShape(err, &shape) != nil {
			return err
		}
		more, err := c.next(']')
		if err != nil {
			return err
		}
		if !more {
			return shape
		}
	}
}
