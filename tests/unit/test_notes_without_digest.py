"""Datacenter notes on a PVE that answers without a ``digest`` (connect/notes.py): a line another writer
overwrote right after our write is found missing on the read-back and written again."""

from ansible_collections.proxlb.balancer.plugins.module_utils.connect import notes


class _Notes(object):
    """/cluster/options without digest; ``overwrite_after_put`` replays a stale writer once."""

    def __init__(self, text, stale=None):
        self.text = text
        self.stale = stale
        self.puts = 0

    def get(self, path, **_params):
        assert path == "/cluster/options"
        return {"description": self.text}

    def put(self, path, description=None, delete=None, **extra):
        assert "digest" not in extra, "no digest is sent when PVE gave none"
        self.puts += 1
        self.text = description or ""
        if self.stale is not None:
            self.text, self.stale = self.stale, None   # a writer that read before us writes after us


def _add(line):
    return lambda text: text if line in text.splitlines() else "\n".join([t for t in [text, line] if t])


def test_a_lost_line_is_written_again():
    client = _Notes("ops notes", stale="ops notes\nother: pve3")
    text, written = notes.edit(client, _add("ours: pve2"), sleep=lambda s: None)
    assert written and client.puts == 2
    assert client.text.splitlines() == ["ops notes", "other: pve3", "ours: pve2"]
    assert text == client.text


def test_an_unchanged_note_is_not_written():
    client = _Notes("ours: pve2")
    assert notes.edit(client, _add("ours: pve2"), sleep=lambda s: None) == ("ours: pve2", False)
    assert client.puts == 0
