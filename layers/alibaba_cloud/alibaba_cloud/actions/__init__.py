"""Action declarations: what each Alibaba Cloud RPC action takes and checks (one module per product)."""
