-- CloudTrail management, data, network-activity and Insights events of every account and region of
-- the organization, one row per record. Column names follow AWS's CloudTrail DDL; types are typed
-- (eventtime/creationdate timestamp, readonly/managementevent/mfaauthenticated/
-- sessioncredentialfromconsole boolean). Free-form members (requestparameters, responseelements,
-- additionaleventdata, serviceeventdetails, edgedevicedetails, eventcontext, insightdetails,
-- useridentity.inscopeof, sessioncontext.webidfederationdata) are JSON text: use json_extract.
-- Rows are sorted by eventtime within each file.
--
-- Written by logarchive pkg/sink: Parquet (zstd), Hive partitions cloudtrail/dt=YYYY-MM-DD/ by event day
-- (UTC), partition projection (no crawler, no MSCK REPAIR). Replace LAKE_LOCATION with the sink's
-- destination as bucket/prefix (e.g. sed 's#LAKE_LOCATION#my-lake-bucket/logarchive#g'); narrow
-- projection.dt.range to the first day of data so unfiltered queries list fewer prefixes.
-- Column types are checked against the writer's schema by pkg/sink TestDDLMatchesWriterSchema.
CREATE EXTERNAL TABLE IF NOT EXISTS `cloudtrail` (
  `eventversion` string,
  `useridentity` struct<
    type:string,
    principalid:string,
    arn:string,
    accountid:string,
    invokedby:string,
    accesskeyid:string,
    username:string,
    identityprovider:string,
    credentialid:string,
    onbehalfof:struct<userid:string,identitystorearn:string>,
    inscopeof:string,
    sessioncontext:struct<
      attributes:struct<mfaauthenticated:boolean,creationdate:timestamp>,
      sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>,
      webidfederationdata:string,
      sourceidentity:string,
      ec2roledelivery:string,
      ec2issuedinvpc:string>>,
  `eventtime` timestamp,
  `eventsource` string,
  `eventname` string,
  `awsregion` string,
  `sourceipaddress` string,
  `useragent` string,
  `errorcode` string,
  `errormessage` string,
  `requestparameters` string,
  `responseelements` string,
  `additionaleventdata` string,
  `requestid` string,
  `eventid` string,
  `readonly` boolean,
  `resources` array<struct<arn:string,accountid:string,type:string>>,
  `eventtype` string,
  `apiversion` string,
  `recipientaccountid` string,
  `sharedeventid` string,
  `vpcendpointid` string,
  `vpcendpointaccountid` string,
  `serviceeventdetails` string,
  `managementevent` boolean,
  `eventcategory` string,
  `addendum` struct<
    reason:string,
    updatedfields:string,
    originalrequestid:string,
    originaleventid:string>,
  `sessioncredentialfromconsole` boolean,
  `edgedevicedetails` string,
  `tlsdetails` struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>,
  `eventcontext` string,
  `insightdetails` string,
  `source_bucket` string,
  `source_key` string,
  `source_index` bigint
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://LAKE_LOCATION/cloudtrail/'
TBLPROPERTIES (
  'classification'='parquet',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2020-01-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://LAKE_LOCATION/cloudtrail/dt=${dt}/'
);
