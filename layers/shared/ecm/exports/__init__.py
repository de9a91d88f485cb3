"""Return files to the health plans (docs/using/return-files.md): the ECM Provider Return
Transmission File (RTF) and Outreach Tracking File (OTF), one engine for both; kinds differ in their
fields, row rules and default layout only (``ecm.exports.kinds``), as import kinds do."""
