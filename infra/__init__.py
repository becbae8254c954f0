"""shopstack's AWS estate as a Pulumi program: config -> components -> stack outputs."""
