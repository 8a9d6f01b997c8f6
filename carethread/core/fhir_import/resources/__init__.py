"""One module per FHIR resource type the importer reads (see ``registry`` for the contract)."""

TIN_SYSTEM = "urn:oid:2.16.840.1.113883.4.4"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
POS_SYSTEM = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
ROLE_SYSTEM = "urn:carethread:role"
