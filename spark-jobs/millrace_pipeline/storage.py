"""Small text files on the lake's file system (HDFS on the cluster, file:// in tests), through the
Hadoop FileSystem API of the running SparkSession, so the cluster's auth and KMS settings apply."""
from __future__ import annotations

from pyspark.sql import SparkSession


class LakeFs:
    def __init__(self, spark: SparkSession):
        self._jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]
        self._gateway = spark.sparkContext._gateway  # type: ignore[attr-defined]

    def _path(self, path: str):  # -> org.apache.hadoop.fs.Path
        return self._jvm.org.apache.hadoop.fs.Path(path)

    def _fs(self, path: str):  # -> org.apache.hadoop.fs.FileSystem
        return self._path(path).getFileSystem(self._conf)

    def exists(self, path: str) -> bool:
        return bool(self._fs(path).exists(self._path(path)))

    def list_names(self, path: str) -> list[str]:
        if not self.exists(path):
            return []
        return sorted(str(s.getPath().getName()) for s in self._fs(path).listStatus(self._path(path)))

    def read_text(self, path: str) -> str:
        stream = self._fs(path).open(self._path(path))
        try:
            data = self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream)
        finally:
            stream.close()
        return bytes(data).decode("utf-8")

    def write_text(self, path: str, text: str) -> None:
        """Writes a whole file, replacing what was there; readers see the old or the new content, never
        a part: the text goes to a hidden sibling first and is renamed over the target (an atomic
        rename with OVERWRITE on HDFS)."""
        target = self._path(path)
        tmp = self._path(f"{target.getParent().toString()}/.{target.getName()}.tmp")
        fs = self._fs(path)
        out = fs.create(tmp, True)
        try:
            out.write(text.encode("utf-8"))
        finally:
            out.close()
        fc = self._jvm.org.apache.hadoop.fs.FileContext.getFileContext(target.toUri(), self._conf)
        rename = self._jvm.org.apache.hadoop.fs.Options.Rename
        opts = self._gateway.new_array(rename, 1)
        opts[0] = rename.OVERWRITE
        fc.rename(tmp, target, opts)
