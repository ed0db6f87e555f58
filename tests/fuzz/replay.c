/*
 * Replays a fuzz target's committed corpus as a regression test, without
 * libFuzzer: every file in the directory given is fed to the target once.
 * A crash, sanitizer report or abort fails the test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_BYTES_MAX (1u << 20)

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	DIR *dir = opendir(argv[1]);
	if (dir == NULL) {
		perror(argv[1]);
		return 1;
	}
	static uint8_t input[INPUT_BYTES_MAX];
	unsigned replayed = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", argv[1], entry->d_name);
		FILE *f = fopen(path, "rb");
		if (f == NULL)
			continue;
		size_t size = fread(input, 1, sizeof(input), f);
		fclose(f);
		LLVMFuzzerTestOneInput(input, size);
		replayed++;
	}
	closedir(dir);
	printf("replayed %u inputs from %s\n", replayed, argv[1]);
	return replayed > 0 ? 0 : 1; /* an empty corpus proves nothing */
}
