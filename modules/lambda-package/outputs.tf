output "output_path" {
  description = "Path of the zip."
  value       = data.archive_file.this.output_path
}

output "output_base64sha256" {
  description = "Base64 SHA-256 of the zip (the Lambda source_code_hash)."
  value       = data.archive_file.this.output_base64sha256
}

output "code_base64sha256" {
  description = "Base64 SHA-256 of a zip of the sources alone (what `make package` prints); equal to output_base64sha256 without extra_files."
  value       = length(var.extra_files) > 0 ? data.archive_file.code[0].output_base64sha256 : data.archive_file.this.output_base64sha256
}

output "files" {
  description = "Files packed, relative to source_dir (extra_files not included)."
  value       = local.files
}

output "extra_files" {
  description = "Paths of the extra files inside the zip."
  value       = sort(keys(var.extra_files))
}
