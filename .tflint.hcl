# tflint for the module, modules/* and examples/* (`make lint`, .pre-commit-config.yaml).
# The terraform ruleset is the one bundled in tflint (no `source`: nothing is downloaded).
config {
  format = "compact"
  # `make lint-tflint` runs tflint in each of the Makefile's TF_DIRS (the module, modules/*,
  # examples/*); local module calls are evaluated too (tflint's default, "local").
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
