"""The FHIR code and identifier systems Carethread reads and writes: the importer reads them, the
synthetic network and the demo practice are written with them."""

TIN_SYSTEM = "urn:oid:2.16.840.1.113883.4.4"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
POS_SYSTEM = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
ROLE_SYSTEM = "urn:carethread:role"
ACT_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ROLE_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
