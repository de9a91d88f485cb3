"""ECM Imports: the domain shared by every Lambda function (deployed as a layer)."""
