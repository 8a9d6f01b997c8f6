"""One module per FHIR resource type the importer reads (see ``registry`` for the contract)."""
