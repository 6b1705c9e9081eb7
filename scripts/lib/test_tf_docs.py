"""The module READMEs' inputs/outputs tables (tf_docs.py): generated from the module, kept in place between
the markers, and --check fails when a variable or output changed without the README."""

from __future__ import annotations

import sys

import tf_docs

VARIABLES = '''
variable "name" {
  description = "Queue name; the DLQ is <name>-dlq."
  type        = string
}

variable "max_receive_count" {
  description = <<-EOT
    Receives before the DLQ.
    At most 1000.
  EOT
  type    = number
  default = 5
}

variable "senders" {
  description = "Who may send | and how."
  type = list(object({
    service = string
  }))
  default = []
}
'''

OUTPUTS = '''
output "queue_url" {
  description = "URL of the queue."
  value       = "x"
}
'''


def module(tmp_path):
    root = tmp_path / "terraform"
    m = root / "modules" / "queue"
    m.mkdir(parents=True)
    (m / "variables.tf").write_text(VARIABLES)
    (m / "outputs.tf").write_text(OUTPUTS)
    (m / "README.md").write_text("# queue\n\nWhat it makes.\n")
    (root / "variables.tf").write_text("")
    return root, m


def run(monkeypatch, *args):
    monkeypatch.setattr(sys, "argv", ["tf_docs.py", *args])
    return tf_docs.main()


def test_the_tables_name_every_input_and_output(tmp_path, monkeypatch):
    root, m = module(tmp_path)
    assert run(monkeypatch, "--root", str(root)) == 0
    readme = (m / "README.md").read_text()
    assert readme.startswith("# queue\n\nWhat it makes.\n")
    assert "| `name` | Queue name; the DLQ is &lt;name&gt;-dlq. | `string` | n/a | yes |" in readme
    assert "| `max_receive_count` | Receives before the DLQ. At most 1000. | `number` | `5` | no |" in readme
    assert "| `senders` | Who may send \\| and how. | `list(object({service = string}))` | `[]` | no |" in readme
    assert "| `queue_url` | URL of the queue. |" in readme
    # Generating again changes nothing; the check passes.
    assert run(monkeypatch, "--root", str(root)) == 0
    assert (m / "README.md").read_text() == readme
    assert run(monkeypatch, "--root", str(root), "--check") == 0


def test_the_check_fails_when_a_variable_changed_without_its_readme(tmp_path, monkeypatch, capsys):
    root, m = module(tmp_path)
    run(monkeypatch, "--root", str(root))
    (m / "variables.tf").write_text(VARIABLES.replace("Receives before the DLQ.", "Receives before it gives up."))
    assert run(monkeypatch, "--root", str(root), "--check") == 1
    assert "out of date" in capsys.readouterr().out
