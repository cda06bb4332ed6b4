variable "source_dir" {
  description = "Directory holding the processor's Python package."
  type        = string
}

variable "output_path" {
  description = "Where to write the zip."
  type        = string
}

variable "extra_files" {
  description = "Files to add to the zip, by path inside it: generated content such as configuration. Paths must not collide with the sources."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for f in keys(var.extra_files) : can(regex("^[A-Za-z0-9_][A-Za-z0-9_./-]*$", f)) && !strcontains(f, "..")])
    error_message = "extra_files keys must be relative paths inside the zip (letters, digits, '_', '-', '.', '/'; no '..')."
  }
}
