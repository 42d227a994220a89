package parse

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	res        []Resource // scratch for a record's resources
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

func newCloudTrailDecoder(obj Object, src Source, r io.Reader, opts Options) *cloudTrailDecoder {
	d := &cloudTrailDecoder{obj: obj, src: src, w: newWindow(r, opts.MaxRecordBytes)}
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
		end, err := objectEnd(c.b, c.i)
		if err != nil {
			return false, err
		}
		start := c.i
		raw := c.b[start:end:end]
		c.i = end
		d.state = ctAfterRecord
		idx := d.index
		d.index++
		ev, err := d.decode(raw)
		if err != nil {
			var sh *shapeError
			if errors.As(err, &sh) {
				d.add(d.obj.newError(ErrBadRecord, d.w.offset(d.w.pos+start+sh.off), 0,
					fmt.Errorf("record %d: %w", idx, err)))
				return false, nil
			}
			var se *syntaxError
			if errors.As(err, &se) {
				se.off += start
			}
			return false, err
		}
		rec.Source = d.src
		if ev.EventType == "AwsCloudTrailInsight" || ev.EventCategory == "Insight" {
			rec.Source = SourceInsight
		}
		rec.Index = idx
		rec.Raw = raw
		rec.CloudTrail = ev
		rec.Flow = nil
		rec.DNS = nil
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

// decode decodes one complete record.
func (d *cloudTrailDecoder) decode(raw []byte) (*CloudTrailEvent, error) {
	c := cursor{b: raw, s: string(raw)}
	var own []byte // raw's bytes, owned by the record, for the json.RawMessage members
	rawMsg := func(start, end int, isNull bool) json.RawMessage {
		if isNull {
			return nil
		}
		if own == nil {
			own = append([]byte(nil), raw...)
		}
		return json.RawMessage(own[start:end:end])
	}
	b := new(ctBundle)
	ev := &b.ev
	d.res = d.res[:0]
	var shape error // the first shape error; the record is still walked to its end
	empty, err := c.objectStart()
	if err != nil || empty {
		return ev, err
	}
	for {
		k, err := c.key()
		if err != nil {
			return nil, err
		}
		switch string(k) {
		case "eventVersion":
			ev.EventVersion, err = c.str("eventVersion")
		case "userIdentity":
			var present bool
			present, err = d.userIdentity(&c, b, rawMsg)
			if present {
				ev.UserIdentity = &b.ui
			}
		case "eventTime":
			var s string
			at := c.i
			if s, err = c.str("eventTime"); err == nil && s != "" {
				if ev.EventTime, err = parseTime(s); err != nil {
					err = &shapeError{off: at, field: "eventTime", msg: err.Error()}
				}
			}
		case "eventSource":
			ev.EventSource, err = c.str("eventSource")
		case "eventName":
			ev.EventName, err = c.str("eventName")
		case "awsRegion":
			ev.AWSRegion, err = c.str("awsRegion")
		case "sourceIPAddress":
			ev.SourceIPAddress, err = c.str("sourceIPAddress")
		case "userAgent":
			ev.UserAgent, err = c.str("userAgent")
		case "errorCode":
			ev.ErrorCode, err = c.str("errorCode")
		case "errorMessage":
			ev.ErrorMessage, err = c.str("errorMessage")
		case "requestParameters":
			ev.RequestParameters, err = rawMember(&c, rawMsg)
		case "responseElements":
			ev.ResponseElements, err = rawMember(&c, rawMsg)
		case "additionalEventData":
			ev.AdditionalEvent, err = rawMember(&c, rawMsg)
		case "requestID":
			ev.RequestID, err = c.str("requestID")
		case "eventID":
			ev.EventID, err = c.str("eventID")
		case "readOnly":
			ev.ReadOnly, err = c.optBool("readOnly")
		case "resources":
			err = d.resources(&c)
			if err == nil && len(d.res) > 0 {
				ev.Resources = append([]Resource(nil), d.res...)
			}
		case "eventType":
			ev.EventType, err = c.str("eventType")
		case "apiVersion":
			ev.APIVersion, err = c.str("apiVersion")
		case "recipientAccountId":
			ev.RecipientAccountID, err = c.str("recipientAccountId")
		case "sharedEventID":
			ev.SharedEventID, err = c.str("sharedEventID")
		case "vpcEndpointId":
			ev.VPCEndpointID, err = c.str("vpcEndpointId")
		case "vpcEndpointAccountId":
			ev.VPCEndpointAccount, err = c.str("vpcEndpointAccountId")
		case "serviceEventDetails":
			ev.ServiceEventDetail, err = rawMember(&c, rawMsg)
		case "managementEvent":
			ev.ManagementEvent, err = c.optBool("managementEvent")
		case "eventCategory":
			ev.EventCategory, err = c.str("eventCategory")
		case "addendum":
			var present bool
			present, err = objectMembers(&c, "addendum", func(k []byte) error {
				var err error
				switch string(k) {
				case "reason":
					b.add.Reason, err = c.str("addendum.reason")
				case "updatedFields":
					b.add.UpdatedFields, err = c.str("addendum.updatedFields")
				case "originalRequestID":
					b.add.OriginalRequestID, err = c.str("addendum.originalRequestID")
				case "originalEventID":
					b.add.OriginalEventID, err = c.str("addendum.originalEventID")
				default:
					_, _, err = c.skip()
				}
				return err
			})
			if present {
				ev.Addendum = &b.add
			}
		case "sessionCredentialFromConsole":
			ev.SessionCredentialFromConsole, err = c.str("sessionCredentialFromConsole")
		case "edgeDeviceDetails":
			ev.EdgeDeviceDetails, err = rawMember(&c, rawMsg)
		case "tlsDetails":
			var present bool
			present, err = objectMembers(&c, "tlsDetails", func(k []byte) error {
				var err error
				switch string(k) {
				case "tlsVersion":
					b.tls.TLSVersion, err = c.str("tlsDetails.tlsVersion")
				case "cipherSuite":
					b.tls.CipherSuite, err = c.str("tlsDetails.cipherSuite")
				case "clientProvidedHostHeader":
					b.tls.ClientProvidedHostHeader, err = c.str("tlsDetails.clientProvidedHostHeader")
				default:
					_, _, err = c.skip()
				}
				return err
			})
			if present {
				ev.TLSDetails = &b.tls
			}
		case "eventContext":
			ev.EventContext, err = rawMember(&c, rawMsg)
		case "insightDetails":
			ev.InsightDetails, err = rawMember(&c, rawMsg)
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
	if c.i != len(raw) {
		return nil, c.synErr("record continues after its closing brace")
	}
	if shape != nil {
		return nil, shape
	}
	return ev, nil
}

func rawMember(c *cursor, rawMsg func(int, int, bool) json.RawMessage) (json.RawMessage, error) {
	s, e, isNull, err := c.raw()
	if err != nil {
		return nil, err
	}
	return rawMsg(s, e, isNull), nil
}

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

func (d *cloudTrailDecoder) userIdentity(c *cursor, b *ctBundle, rawMsg func(int, int, bool) json.RawMessage) (bool, error) {
	ui := &b.ui
	return objectMembers(c, "userIdentity", func(k []byte) error {
		var err error
		switch string(k) {
		case "type":
			ui.Type, err = c.str("userIdentity.type")
		case "principalId":
			ui.PrincipalID, err = c.str("userIdentity.principalId")
		case "arn":
			ui.ARN, err = c.str("userIdentity.arn")
		case "accountId":
			ui.AccountID, err = c.str("userIdentity.accountId")
		case "accessKeyId":
			ui.AccessKeyID, err = c.str("userIdentity.accessKeyId")
		case "userName":
			ui.UserName, err = c.str("userIdentity.userName")
		case "invokedBy":
			ui.InvokedBy, err = c.str("userIdentity.invokedBy")
		case "identityProvider":
			ui.IdentityProvider, err = c.str("userIdentity.identityProvider")
		case "credentialId":
			ui.CredentialID, err = c.str("userIdentity.credentialId")
		case "inScopeOf":
			ui.InScopeOf, err = rawMember(c, rawMsg)
		case "onBehalfOf":
			var present bool
			present, err = objectMembers(c, "userIdentity.onBehalfOf", func(k []byte) error {
				var err error
				switch string(k) {
				case "userId":
					b.obo.UserID, err = c.str("onBehalfOf.userId")
				case "identityStoreArn":
					b.obo.IdentityStoreARN, err = c.str("onBehalfOf.identityStoreArn")
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
			present, err = d.sessionContext(c, b, rawMsg)
			if present {
				ui.SessionContext = &b.sc
			}
		default:
			_, _, err = c.skip()
		}
		return err
	})
}

func (d *cloudTrailDecoder) sessionContext(c *cursor, b *ctBundle, rawMsg func(int, int, bool) json.RawMessage) (bool, error) {
	sc := &b.sc
	return objectMembers(c, "sessionContext", func(k []byte) error {
		var err error
		switch string(k) {
		case "attributes":
			_, err = objectMembers(c, "sessionContext.attributes", func(k []byte) error {
				var err error
				switch string(k) {
				case "mfaAuthenticated":
					sc.MFAAuthenticated, err = c.str("attributes.mfaAuthenticated")
				case "creationDate":
					sc.CreationDate, err = c.str("attributes.creationDate")
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
					si.Type, err = c.str("sessionIssuer.type")
				case "principalId":
					si.PrincipalID, err = c.str("sessionIssuer.principalId")
				case "arn":
					si.ARN, err = c.str("sessionIssuer.arn")
				case "accountId":
					si.AccountID, err = c.str("sessionIssuer.accountId")
				case "userName":
					si.UserName, err = c.str("sessionIssuer.userName")
				default:
					_, _, err = c.skip()
				}
				return err
			})
			if present {
				sc.SessionIssuer = si
			}
		case "webIdFederationData":
			sc.WebIDFederationData, err = rawMember(c, rawMsg)
		case "sourceIdentity":
			sc.SourceIdentity, err = c.str("sessionContext.sourceIdentity")
		case "ec2RoleDelivery":
			sc.EC2RoleDelivery, err = c.str("sessionContext.ec2RoleDelivery")
		case "ec2IssuedInVpc":
			sc.EC2IssuedInVPC, err = c.str("sessionContext.ec2IssuedInVpc")
		default:
			_, _, err = c.skip()
		}
		return err
	})
}

// resources decodes the resources array into d.res.
func (d *cloudTrailDecoder) resources(c *cursor) error {
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
		var r Resource
		if _, err := objectMembers(c, "resources[]", func(k []byte) error {
			var err error
			switch string(k) {
			case "ARN", "arn":
				r.ARN, err = c.str("resources.ARN")
			case "accountId":
				r.AccountID, err = c.str("resources.accountId")
			case "type":
				r.Type, err = c.str("resources.type")
			default:
				_, _, err = c.skip()
			}
			return err
		}); keepShape(err, &shape) != nil {
			return err
		}
		d.res = append(d.res, r)
		more, err := c.next(']')
		if err != nil {
			return err
		}
		if !more {
			return shape
		}
	}
}
